"""Timeline runs and labelled kernels from :func:`rooflens.analysis.structure.infer_structure`,
for traces with no ``Run[j]`` / ``Layer[i]#Run[j]`` NVTX ranges (a plain ``nsys profile``).

The inferred runs are named like the NVTX ones (``Run[j]``, :func:`rooflens.vocab.run_range`)
and summarised like them (busy time, window, bubbles over their kernels); the chosen run's kernels
carry operator, phase and layer as the NVTX path gives them, plus the evidence and confidence
of each attribution.
"""

from __future__ import annotations

import numpy as np

from rooflens.analysis.runs import RunSummary, TimelineKernel, run_kernels
from rooflens.analysis.structure import Structure, infer_structure
from rooflens.traces.intervals import segment_gaps
from rooflens.traces.model import Trace
from rooflens.traces.projection import Projection
from rooflens.vocab import run_range


def launch_order(trace: Trace, proj: Projection) -> np.ndarray:
    """Kernel rows in launch order (launch call start, then GPU start), as run_kernels sorts."""
    k = trace.kernels
    launch = np.where(np.isnan(proj.launch_start_s), k.start_s, proj.launch_start_s)
    return np.lexsort((k.start_s, launch))


def one_device(
    device: np.ndarray, pid: np.ndarray, order: np.ndarray
) -> tuple[np.ndarray, list[str]]:
    """The kernels of one GPU and process (the one that ran most kernels): ranks of a
    tensor-parallel capture interleave in launch order and would break every pattern."""
    key = device.astype(np.int64) * (1 << 32) + pid.astype(np.int64)
    values, counts = np.unique(key, return_counts=True)
    if values.size <= 1:
        return order, []
    pick = int(values[np.argmax(counts)])
    keep = key == pick
    dev, proc = divmod(pick, 1 << 32)
    note = (
        f"structure inferred on GPU {dev} (process {proc}): {int(keep.sum())} of {order.size} "
        f"kernels; the other {values.size - 1} GPU/process stream(s) are left out"
    )
    return order[keep], [note]


def subset_summary(trace: Trace, proj: Projection, rows: np.ndarray, name: str) -> RunSummary:
    """A :class:`RunSummary` of the kernels ``rows`` over [first kernel start, last kernel end]."""
    k = trace.kernels
    g = segment_gaps(np.zeros(rows.size, np.int64), k.start_s[rows], k.end_s[rows],
                     proj.launch_start_s[rows])  # fmt: skip
    span = float(np.sum(g.last_end - g.first_start))
    return RunSummary(
        name=name, instances=1, range_duration_s=span, kernel_count=int(rows.size),
        kernel_time_s=float(np.sum(k.end_s[rows] - k.start_s[rows])), gpu_busy_s=float(g.busy.sum()),
        window_s=span, inter_kernel_window_s=span, host_bound_gap_s=float(g.host_gap.sum()),
        other_gap_s=float(g.other_gap.sum()), host_bound_gaps=int(g.host_count.sum()),
        other_gaps=int(g.other_count.sum()), first_start_s=float(g.first_start.min(initial=0.0)),
    )  # fmt: skip


def infer_runs(
    trace: Trace, proj: Projection
) -> tuple[list[RunSummary], RunSummary, list[TimelineKernel], list[str]] | None:
    """Inferred runs, the chosen one, its labelled kernels and notes; None when none is found."""
    order = launch_order(trace, proj)
    k = trace.kernels
    order, notes = one_device(k.device[order], k.pid[order], order)
    s = infer_structure(k.name_id[order], trace.strings.values, k.start_s[order],
                        k.end_s[order], k.grid[order])  # fmt: skip
    if s.chosen is None:
        return None
    runs = [subset_summary(trace, proj, order[r.first : r.end], run_range(i))
            for i, r in enumerate(s.runs)]  # fmt: skip
    run = s.runs[s.chosen]
    kernels = run_kernels(trace, proj, order[run.first : run.end])
    _apply(kernels, s, run.first)
    return runs, runs[s.chosen], kernels, [*notes, *s.notes, evidence_note(kernels)]


def evidence_note(kernels: list[TimelineKernel]) -> str:
    """Which evidence named the chosen run's operators, as shares of its kernel time."""
    total = sum(k.duration_s for k in kernels) or 1.0
    share: dict[str, float] = {}
    sure = 0.0
    for k in kernels:
        key = k.evidence or "none"
        share[key] = share.get(key, 0.0) + k.duration_s / total
        sure += (k.confidence or 0.0) * k.duration_s / total
    parts = ", ".join(f"{e} {v:.0%}" for e, v in sorted(share.items(), key=lambda x: -x[1]))
    return (
        f"operators of the chosen run named by kernel-name table and position in the layer "
        f"pattern; evidence by kernel time: {parts}; time-weighted confidence {sure:.2f}"
    )


def _apply(kernels: list[TimelineKernel], s: Structure, first: int) -> None:
    """Copy the inferred labels onto the chosen run's kernels (same launch order)."""
    for j, kern in enumerate(kernels):
        i = first + j
        kern.operator = s.operator[i]
        kern.phase = s.phase[i]
        kern.layer = int(s.layer[i]) if s.layer[i] >= 0 else None
        kern.evidence = s.evidence[i]
        kern.confidence = round(float(s.confidence[i]), 2) if s.evidence[i] else None
