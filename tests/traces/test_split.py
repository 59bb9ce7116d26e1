"""Splitting a capture by process (tensor-parallel ranks in one nsys report), on a real capture
duplicated as a second process on a second GPU."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np

from rooflens.analysis.ranks import analyze_ranks
from rooflens.analysis.timeline import analyze_timeline
from rooflens.traces import load_timeline
from rooflens.traces.model import Trace
from rooflens.traces.split import kernel_processes, split_by_process

FIX = (
    Path(__file__).resolve().parents[1] / "fixtures" / "h200_llama3_8b_decode4" / "timeline.sqlite"
)


def _two_ranks(t: Trace) -> Trace:
    """The capture plus a copy of itself as process pid+1 on device 1 (ranges re-parented)."""
    k, r, la = t.kernels, t.ranges, t.launches
    cat = np.concatenate
    k2 = replace(k, **{f: cat([getattr(k, f), getattr(k, f)]) for f in ("name_id", "short_id", "start_s",
                 "end_s", "stream", "correlation", "registers_per_thread", "shared_mem_bytes")},
                 grid=cat([k.grid, k.grid]), block=cat([k.block, k.block]),
                 device=cat([k.device, k.device + 1]), pid=cat([k.pid, k.pid + 1]))  # fmt: skip
    parent2 = np.where(r.parent >= 0, r.parent + len(r), -1)
    r2 = replace(r, **{f: cat([getattr(r, f), getattr(r, f)]) for f in ("name_id", "start_s", "end_s", "tid",
                 "kind", "depth")}, pid=cat([r.pid, r.pid + 1]), parent=cat([r.parent, parent2]))  # fmt: skip
    la2 = replace(la, **{f: cat([getattr(la, f), getattr(la, f)]) for f in ("correlation", "tid", "start_s",
                  "end_s")}, pid=cat([la.pid, la.pid + 1]))  # fmt: skip
    return replace(t, kernels=k2, ranges=r2, launches=la2)


def test_split_gives_each_rank_its_own_runs() -> None:
    one = load_timeline(FIX)
    both = _two_ranks(one)
    pid = int(one.kernels.pid[0])
    assert kernel_processes(both) == [pid, pid + 1]
    ranks = split_by_process(both)
    assert len(ranks) == 2 and split_by_process(one) == [one]
    base = analyze_timeline(one)
    for rt in ranks:
        assert len(rt.kernels) == len(one.kernels) and len(rt.ranges) == len(one.ranges)
        a = analyze_timeline(rt)
        assert a.chosen_run == base.chosen_run
        assert a.chosen.kernel_count == base.chosen.kernel_count  # not doubled by the other rank
        assert a.chosen.range_duration_s == base.chosen.range_duration_s
    merged = analyze_timeline(both)  # unsplit, the two ranks' Run[2] would merge into one run
    assert merged.chosen.kernel_count == 2 * base.chosen.kernel_count
    section = analyze_ranks([analyze_timeline(rt) for rt in ranks])
    assert section["tp"] == 2 and section["collectives_matched"] == 0
    assert [r["kernel_count"] for r in section["ranks"]] == [base.chosen.kernel_count] * 2
