"""Structure inference on the committed H200 captures of the built-in workload, NVTX ignored.

The captures carry NVTX (``Run[j] > prefill|decode[k] > Layer[i]#Run[j] > <operator>``): that is
the truth here.  :func:`infer_structure` sees only kernel names, times and grids in launch
order; every expectation below is read from the NVTX labels of the same capture.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from rooflens.analysis.inferred_runs import launch_order
from rooflens.analysis.structure import Structure, infer_structure
from rooflens.analysis.timeline import analyze_timeline, run_kernels
from rooflens.traces import load_timeline
from rooflens.traces.model import Trace
from rooflens.traces.projection import project

FIX = Path(__file__).resolve().parents[1] / "fixtures"
EAGER = [
    "h200_llama3_8b_decode4/timeline.sqlite",
    "h200_llama3_8b_decode16_eager/timeline.sqlite",
    "h200_llama3_8b_prefill/timeline.sqlite",
    "h200_llama3_8b_prefill/trace.json",
]


def _infer(trace: Trace) -> tuple[Structure, list]:  # type: ignore[type-arg]
    proj = project(trace)
    order = launch_order(trace, proj)
    k = trace.kernels
    s = infer_structure(
        k.name_id[order], trace.strings.values, k.start_s[order], k.end_s[order], k.grid[order]
    )
    truth = run_kernels(trace, proj, order)  # NVTX labels, same order
    return s, truth


def _truth_run(kernel) -> int | None:  # type: ignore[no-untyped-def]
    m = re.match(r"Run\[(\d+)\]$", kernel.nvtx[0]) if kernel.nvtx else None
    return int(m.group(1)) if m else None


def _truth_op(kernel) -> str | None:  # type: ignore[no-untyped-def]
    if kernel.operator:
        return kernel.operator  # type: ignore[no-any-return]
    return "sampling" if kernel.nvtx and kernel.nvtx[-1] == "sample" else None


@pytest.mark.parametrize("rel", EAGER)
def test_runs_steps_phases_layers_and_operators(rel: str) -> None:
    s, truth = _infer(load_timeline(FIX / rel))
    runs = [_truth_run(k) for k in truth]
    n_runs = max(r for r in runs if r is not None) + 1
    assert len(s.runs) == n_runs
    # The chosen run is the last one, kernel for kernel; set-up kernels are outside every run.
    assert s.chosen == n_runs - 1
    for i, r in enumerate(runs):
        assert (s.run[i] if s.run[i] >= 0 else None) == r, i
    chosen = [i for i, r in enumerate(runs) if r == n_runs - 1]
    steps = {truth[i].phase for i in chosen}
    assert len(s.runs[-1].steps) == len(steps)
    total = right = 0.0
    for i in chosen:
        k = truth[i]
        assert s.phase[i] == k.phase, i
        total += k.duration_s
        if s.operator[i] == _truth_op(k):
            right += k.duration_s
            assert (s.layer[i] if s.layer[i] >= 0 else None) == k.layer, i
    assert right / total >= 0.99


def test_cuda_graph_replays() -> None:
    """decode16_graph: a captured decode step (graph warm-up) before Run[0] is a run without a
    prefill and is never chosen; the replayed steps of the last run match the labels the NVTX
    path copies from the eager run (analysis/replay_labels.py)."""
    trace = load_timeline(FIX / "h200_llama3_8b_decode16_graph/timeline.sqlite")
    s, truth = _infer(trace)
    assert not s.runs[0].has_prefill and len(s.runs) == 4 and s.chosen == 3
    nvtx = analyze_timeline(trace)  # chosen Run[2], replays labelled from the eager run
    run = s.runs[3]
    assert run.end - run.first == len(nvtx.kernels) and len(run.steps) == 16
    total = right = 0.0
    for j, k in enumerate(nvtx.kernels):
        i = run.first + j
        assert s.phase[i] == k.phase
        total += k.duration_s
        op = k.operator or ("sampling" if k.nvtx and k.nvtx[-1] == "sample" else None)
        right += k.duration_s if s.operator[i] == op else 0.0
    assert right / total >= 0.99


def test_timeline_without_nvtx(without_nvtx: Any) -> None:
    """The decode4 capture with its NVTX table emptied: analyze_timeline infers the runs."""
    db = without_nvtx(FIX / "h200_llama3_8b_decode4/timeline.sqlite")
    plain = analyze_timeline(load_timeline(db))
    truth = analyze_timeline(load_timeline(FIX / "h200_llama3_8b_decode4/timeline.sqlite"))
    assert plain.chosen_run == truth.chosen_run == "Run[2]"
    assert [r.name for r in plain.runs] == ["Run[0]", "Run[1]", "Run[2]"]
    assert plain.chosen.kernel_count == truth.chosen.kernel_count == len(plain.kernels)
    assert np.isclose(plain.chosen.kernel_time_s, truth.chosen.kernel_time_s)
    assert [k.phase for k in plain.kernels] == [k.phase for k in truth.kernels]
    gemm = [k for k in plain.kernels if k.short_name.startswith("nvjet")]
    assert gemm and all(k.evidence == "name+position" for k in gemm)
    assert {k.evidence for k in plain.kernels} <= {"name", "position", "name+position"}
    assert any("inferred from the kernel stream" in w for w in plain.warnings)
