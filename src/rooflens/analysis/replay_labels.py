"""Operator labels for kernels replayed from CUDA graphs, taken from an identical eager step.

NVTX ranges are host-side: a CUDA-graph replay carries none of the operator ranges that were
pushed while the graph was captured.  The built-in workload therefore runs the same decode steps
eagerly in its warm-up run; a replayed step whose kernel sequence (short names, in launch order)
equals the eager step's of the same phase (``decode[k]``) takes the eager kernels' operator and
layer labels position by position.  Steps with no identical eager counterpart stay unlabelled
and are classified by name later — never guessed here.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

from rooflens.analysis.runs import TimelineKernel

# Above this many kernels in the whole trace the reference pass is skipped (it builds one row
# per kernel); graph-mode captures of the built-in workload are far smaller.
MAX_REFERENCE_KERNELS = 2_000_000


def _step_key(k: TimelineKernel) -> tuple[str, ...] | None:
    """The range path down to the kernel's phase range (``Run[j] > decode[k]``), or None."""
    if k.phase is None or k.phase not in k.nvtx:
        return None
    return tuple(k.nvtx[: k.nvtx.index(k.phase) + 1])


def _steps(kernels: list[TimelineKernel]) -> Iterator[list[int]]:
    """Indices of consecutive kernels that belong to one phase-range instance."""
    current: list[int] = []
    key: tuple[str, ...] | None = None
    for i, k in enumerate(kernels):
        kk = _step_key(k)
        if current and kk != key:
            yield current
            current = []
        key = kk
        if kk is not None:
            current.append(i)
    if current:
        yield current


Label = tuple[str | None, int | None, list[str]]  # operator, layer, range path below the phase


def _below_phase(k: TimelineKernel) -> list[str]:
    return k.nvtx[k.nvtx.index(k.phase) + 1 :] if k.phase in k.nvtx else []


def reference_table(reference: list[TimelineKernel]) -> dict[tuple[object, ...], list[Label]]:
    """(phase, kernel short names) → per-kernel labels, for every eager (operator-labelled) step.

    A step counts as eager when any of its kernels sits in an operator range; its kernels outside
    operator ranges (sampling, say) keep ``None`` and their own range names.
    """
    table: dict[tuple[object, ...], list[Label]] = {}
    for idx in _steps(reference):
        ks = [reference[i] for i in idx]
        if any(k.operator for k in ks):
            key = (ks[0].phase, tuple(k.short_name for k in ks))
            table.setdefault(key, [(k.operator, k.layer, _below_phase(k)) for k in ks])
    return table


def needs_labels(kernels: list[TimelineKernel]) -> bool:
    """True when some phase step has no operator-labelled kernel at all (a graph replay, typically)."""
    return any(not any(kernels[i].operator for i in idx) for idx in _steps(kernels))


def label_replays(
    kernels: list[TimelineKernel], reference: list[TimelineKernel]
) -> tuple[list[TimelineKernel], int]:
    """``kernels`` with labels copied from identical eager steps; and how many kernels got one.

    A copied kernel keeps its own range path and gains the eager kernel's ranges below it
    (``Run[2] > decode[1] > graph > Layer[0]#Run[0] > qkv_proj``), so it still shows it was replayed.
    """
    table = reference_table(reference)
    out = list(kernels)
    labelled = 0
    for idx in _steps(kernels):
        ks = [kernels[i] for i in idx]
        if any(k.operator for k in ks):
            continue
        labels = table.get((ks[0].phase, tuple(k.short_name for k in ks)))
        if labels is None:
            continue
        for i, (op, layer, below) in zip(idx, labels, strict=True):
            out[i] = replace(out[i], operator=op, layer=layer, nvtx=[*out[i].nvtx, *below])
            labelled += 1
    return out, labelled
