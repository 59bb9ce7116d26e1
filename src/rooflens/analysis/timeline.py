"""Timeline analysis (REPORT_SPEC section 二): runs, GPU busy time, bubbles, kernels of the chosen run.

Kernels join NVTX ranges by nsys projection (:mod:`rooflens.traces.projection`).  Runs are the
ranges named ``Run[j]`` of the built-in workload, else ``Layer[i]#Run[j]`` (seed / SGLang);
ranges of one name form one run and a run with several instances (prefill + decode steps)
sums them.  Per instance: range duration; GPU busy = length of the union of its kernels'
intervals; window = [min(range start, first kernel start), max(range end, last kernel end)];
bubble ratio = 1 − busy / window; inter-kernel bubble over [first kernel start, last kernel
end]; each idle gap between kernels is *host-bound* when the launch call of the kernel after
it started only after every earlier kernel had finished, else *other*.  All in seconds.
"""

from __future__ import annotations

import numpy as np

from rooflens.analysis import replay_labels as rl
from rooflens.analysis.inferred_runs import infer_runs
from rooflens.analysis.runs import (  # noqa: F401  (re-exported: the timeline's public names)
    WHOLE_TRACE,
    RunSummary,
    TimelineAnalysis,
    TimelineKernel,
    _members,
    run_groups,
    run_kernels,
    summarize_groups,
    whole_trace,
)
from rooflens.errors import RooflensError
from rooflens.traces.model import Trace
from rooflens.traces.projection import Projection, project


def analyze_timeline(trace: Trace, run: str | None = None) -> TimelineAnalysis:
    """Runs side by side, the chosen run (``run`` or the last detected one) and its kernels."""
    proj = project(trace)
    warnings = list(trace.warnings)
    unmatched = int(np.sum(proj.launch_row < 0))
    if unmatched and len(trace.launches):
        warnings.append(
            f"{unmatched} kernels have no launch call (correlation + process): not projected"
        )
    overview = whole_trace(trace, proj)
    names, rows, group = run_groups(trace)
    runs = sorted(summarize_groups(trace, proj, names, rows, group), key=lambda x: x.first_start_s)
    if run is not None:
        names, rows, group = run_groups(trace, run)
        if not names:
            raise RooflensError(
                f"--run {run!r}: no NVTX range of that name or matching that regex in {trace.path}"
            )
        (chosen,) = summarize_groups(trace, proj, names, rows, group)
        members = np.flatnonzero(_members(trace, proj, rows) >= 0)
    elif runs:
        chosen = runs[-1]
        mine = rows[group == names.index(chosen.name)]
        members = np.flatnonzero(_members(trace, proj, mine) >= 0)
    elif (inferred := _infer_runs(trace, proj)) is not None:
        runs, chosen, kernels, notes = inferred
        warnings.extend(notes)
        return TimelineAnalysis(
            source=trace.source, path=trace.path, chosen_run=chosen.name, runs=runs, chosen=chosen,
            kernels=kernels, overview=overview, gpu_names=[g.name for g in trace.gpus],
            warnings=warnings,
        )  # fmt: skip
    else:
        chosen = overview
        members = np.arange(len(trace.kernels))
        if len(trace.kernels):
            warnings.append("no Run[j] / Layer[i]#Run[j] ranges: whole-trace overview")
    kernels = run_kernels(trace, proj, members)
    kernels = _label_graph_replays(trace, proj, kernels, warnings)
    return TimelineAnalysis(
        source=trace.source, path=trace.path, chosen_run=chosen.name, runs=runs, chosen=chosen,
        kernels=kernels, overview=overview,
        gpu_names=[g.name for g in trace.gpus], warnings=warnings,
    )  # fmt: skip


def _infer_runs(
    trace: Trace, proj: Projection
) -> tuple[list[RunSummary], RunSummary, list[TimelineKernel], list[str]] | None:
    """Runs, steps, layers and operators inferred from the kernel stream (no NVTX structure)."""
    return infer_runs(trace, proj) if len(trace.kernels) else None


def _label_graph_replays(
    trace: Trace, proj: Projection, kernels: list[TimelineKernel], warnings: list[str]
) -> list[TimelineKernel]:
    """Operators for CUDA-graph replays from identical eager steps (analysis/replay_labels.py)."""
    if not rl.needs_labels(kernels) or len(trace.kernels) > rl.MAX_REFERENCE_KERNELS:
        return kernels
    reference = run_kernels(trace, proj, np.arange(len(trace.kernels)))
    kernels, n = rl.label_replays(kernels, reference)
    if n:
        warnings.append(
            f"{n} kernels replayed from CUDA graphs took their operator from the identical eager step"
        )
    return kernels
