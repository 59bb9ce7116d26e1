"""Tensor-parallel runs: every rank side by side, collectives matched across ranks, stragglers,
exposed communication and achieved bus bandwidth (the ``ranks`` section of report.json).

Each rank's trace is analysed on its own (:func:`rooflens.analysis.timeline.analyze_timeline`);
this module joins the ranks through their collectives:

- **matching** — NCCL kernels (name class ``all_reduce``, or the ``all_reduce`` operator range)
  of each rank's chosen run, in launch order: the i-th collective of every rank is the same
  collective (every rank issues the same sequence);
- **clocks** — an all-reduce cannot finish on any rank before the last rank has joined, so its
  end is (within microseconds) simultaneous on every rank: each rank's clock offset is the
  median, over the collectives, of rank 0's end minus its own (zero when one capture holds all
  ranks on one host clock, as ``nsys profile torchrun`` does);
- **stragglers** — per collective, the rank whose kernel started last arrived last; every other
  rank waited ``last start − own start`` inside its NCCL kernel;
- **exposed communication** — NCCL kernel time on a rank not overlapped by that rank's compute
  kernels (other streams); what the step pays for communication;
- **bus bandwidth** — message bytes (from the prediction: T·h·a per all-reduce) × 2(n−1)/n over
  the duration of the last-arriving rank's kernel (the one that did not wait), per message size.

All times in seconds (aligned to rank 0's clock), bytes in bytes, bandwidth in bytes/s.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from rooflens.analysis.operators import classify_kernel
from rooflens.analysis.runs import TimelineAnalysis, TimelineKernel
from rooflens.predict.ops import all_reduce_message_bytes
from rooflens.vocab import canonical_phase

#: Findings thresholds: a straggler whose collectives made the others wait this share of the run,
#: and communication left exposed for this share of the run's kernel time.
STRAGGLER_SHARE = 0.05
EXPOSED_SHARE = 0.10


def is_collective(k: TimelineKernel) -> bool:
    """An NCCL (or custom all-reduce) kernel: by its operator range, else by its name."""
    return k.operator == "all_reduce" or classify_kernel(k.name) == "all_reduce"


@dataclass(frozen=True)
class Collective:
    """One collective on one rank: start and end on rank 0's clock, and the step it belongs to."""

    start_s: float
    end_s: float
    phase: str


def _collectives(t: TimelineAnalysis) -> list[Collective]:
    return [
        Collective(k.start_s, k.start_s + k.duration_s, canonical_phase(k.phase))
        for k in t.kernels
        if is_collective(k)
    ]


def clock_offsets(per_rank: Sequence[Sequence[Collective]]) -> list[float]:
    """Offset (s) to add to each rank's times to put them on rank 0's clock (median end skew)."""
    out = [0.0]
    base = per_rank[0]
    for other in per_rank[1:]:
        n = min(len(base), len(other))
        out.append(
            statistics.median(base[i].end_s - other[i].end_s for i in range(n)) if n else 0.0
        )
    return out


def _union_length(intervals: list[tuple[float, float]]) -> float:
    total, end = 0.0, float("-inf")
    for s, e in sorted(intervals):
        if e <= end:
            continue
        total += e - max(s, end)
        end = e
    return total


def exposed_time(kernels: Sequence[TimelineKernel]) -> tuple[float, float]:
    """(communication kernel time, its part not overlapped by compute kernels) on one rank."""
    comm = [(k.start_s, k.start_s + k.duration_s) for k in kernels if is_collective(k)]
    compute = [(k.start_s, k.start_s + k.duration_s) for k in kernels if not is_collective(k)]
    comm_time = _union_length(comm)
    both = _union_length(comm + compute) - _union_length(compute)
    return comm_time, both


def _busbw(message_bytes: float | None, n: int, duration_s: float) -> float | None:
    if not message_bytes or duration_s <= 0 or n < 2:
        return None
    return message_bytes * 2.0 * (n - 1) / n / duration_s


def analyze_ranks(
    ranks: Sequence[TimelineAnalysis],
    message_bytes: dict[str, float] | None = None,
    same_clock: bool = True,
) -> dict[str, Any]:
    """The ``ranks`` section: per rank, collectives, stragglers, exposed communication, bus bandwidth.

    ``message_bytes``: bytes of one all-reduce per phase (``prefill``, ``decode``), from the
    prediction (or later, :func:`add_bus_bandwidth`); ``same_clock``: all ranks come from one
    capture (no clock alignment needed).
    """
    n = len(ranks)
    raw = [_collectives(t) for t in ranks]
    offsets = [0.0] * n if same_clock else clock_offsets(raw)
    colls = [
        [Collective(c.start_s + off, c.end_s + off, c.phase) for c in cs] if off else cs
        for cs, off in zip(raw, offsets, strict=True)
    ]
    count = min((len(c) for c in colls), default=0)
    waited = [0.0] * n
    last_count = [0] * n
    caused = [0.0] * n
    matched: list[dict[str, Any]] = []
    for i in range(count):
        starts = [c[i].start_s for c in colls]
        last = max(range(n), key=lambda r: starts[r])
        last_count[last] += 1
        for r in range(n):
            w = starts[last] - starts[r]
            waited[r] += w
            caused[last] += w
        c = colls[last][i]
        matched.append({"phase": c.phase, "last_rank": last, "duration_s": c.end_s - c.start_s})
    rows = []
    for r, t in enumerate(ranks):
        comm, exposed = exposed_time(t.kernels)
        rows.append({
            "rank": r, "path": t.path, "gpu": t.gpu_names[0] if t.gpu_names else None, "chosen_run": t.chosen_run,
            "range_duration_s": t.chosen.range_duration_s, "kernel_count": t.chosen.kernel_count,
            "kernel_time_s": t.chosen.kernel_time_s, "gpu_busy_s": t.chosen.gpu_busy_s,
            "bubble_ratio": t.chosen.bubble_ratio, "collectives": len(colls[r]),
            "communication_time_s": comm, "exposed_communication_s": exposed,
            "overlapped_communication_s": comm - exposed, "wait_s": waited[r],
            "arrived_last": last_count[r], "wait_caused_s": caused[r], "clock_offset_s": offsets[r],
        })  # fmt: skip
    section = {
        "tp": n,
        "ranks": rows,
        "collectives_matched": count,
        "collectives_unmatched": max((len(c) for c in colls), default=0) - count,
        "run_duration_s": max((t.chosen.range_duration_s for t in ranks), default=0.0),
        "collectives": matched,
        "bus_bandwidth": [],
        "findings": rank_findings(rows),
    }
    return add_bus_bandwidth(section, message_bytes) if message_bytes else section


def add_bus_bandwidth(section: dict[str, Any], message_bytes: dict[str, float]) -> dict[str, Any]:
    """``section`` with its ``bus_bandwidth`` rows: per phase (one message size each), the median
    and best bus bandwidth of the matched collectives, timed on the rank that arrived last."""
    n = int(section["tp"])
    bw: dict[str, list[float]] = defaultdict(list)
    for c in section["collectives"]:
        b = _busbw(message_bytes.get(c["phase"]), n, c["duration_s"])
        if b is not None:
            bw[c["phase"]].append(b)
    rows = [
        {"phase": p, "message_bytes": message_bytes.get(p), "collectives": len(v),
         "median_bus_bandwidth_bps": statistics.median(v), "max_bus_bandwidth_bps": max(v)}
        for p, v in sorted(bw.items())
    ]  # fmt: skip
    return {**section, "bus_bandwidth": rows}


def rank_findings(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``straggler`` (one rank makes the others wait) and ``exposed_communication`` findings."""
    out: list[dict[str, Any]] = []
    if not rows:
        return out
    run = max(r["range_duration_s"] for r in rows) or 0.0
    worst = max(rows, key=lambda r: r["wait_caused_s"])
    if run > 0 and worst["wait_caused_s"] / run >= STRAGGLER_SHARE:
        out.append({"rule": "straggler", "severity": "medium", "subject": f"rank {worst['rank']}",
                    "value": worst["wait_caused_s"] / run, "threshold": STRAGGLER_SHARE,
                    "time_at_stake_s": worst["wait_caused_s"] / max(1, len(rows) - 1),
                    "message": f"rank {worst['rank']} arrived last at {worst['arrived_last']} collectives;"
                               f" the other ranks waited {worst['wait_caused_s']:.3g} s in all"})  # fmt: skip
    for r in rows:
        share = r["exposed_communication_s"] / r["kernel_time_s"] if r["kernel_time_s"] else 0.0
        if share >= EXPOSED_SHARE:
            out.append({"rule": "exposed_communication", "severity": "medium", "subject": f"rank {r['rank']}",
                        "value": share, "threshold": EXPOSED_SHARE, "time_at_stake_s": r["exposed_communication_s"],
                        "message": f"rank {r['rank']}: {r['exposed_communication_s']:.3g} s of communication not"
                                   f" overlapped with compute ({share:.0%} of its kernel time)"})  # fmt: skip
            break  # one is enough: the ranks run the same program
    return out


def message_bytes_by_phase(prediction: dict[str, Any] | None, tp: int) -> dict[str, float]:
    """Bytes of one all-reduce per phase from the prediction's ``all_reduce`` rows.

    The predictor's row holds both all-reduces of ``count`` layers over ``steps`` steps as bus
    traffic ``2 · 2(n−1)/n · T·h·a`` each (predict/ops.py ``all_reduce``); one message is T·h·a.
    """
    pred = prediction or {}
    phases = pred.get("phases") or {}
    out: dict[str, float] = {}
    if tp < 2:
        return out
    for o in pred.get("operators") or []:
        if o.get("name") != "all_reduce" or o.get("phase") == "decode_first_token":
            continue
        steps = int((phases.get(o["phase"]) or {}).get("steps") or 1)
        per_layer_step = float(o.get("comm_bytes") or 0.0) / (int(o.get("count") or 1) * steps)
        out[canonical_phase(o["phase"])] = all_reduce_message_bytes(per_layer_step, tp)
    return out
