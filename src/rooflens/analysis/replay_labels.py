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

from rooflens.analysis.timeline import TimelineKernel

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


def reference_table(
    reference: list[TimelineKernel],
) -> dict[tuple[object, ...], list[tuple[str, int | None]]]:
    """(phase, kernel short names) → [(operator, layer)] for every fully labelled step."""
    table: dict[tuple[object, ...], list[tuple[str, int | None]]] = {}
    for idx in _steps(reference):
        ks = [reference[i] for i in idx]
        if all(k.operator for k in ks):
            key = (ks[0].phase, tuple(k.short_name for k in ks))
            table.setdefault(key, [(str(k.operator), k.layer) for k in ks])
    return table


def needs_labels(kernels: list[TimelineKernel]) -> bool:
    """True when some kernel inside a phase range has no operator (a graph replay, typically)."""
    return any(k.operator is None and k.phase is not None for k in kernels)


def label_replays(
    kernels: list[TimelineKernel], reference: list[TimelineKernel]
) -> tuple[list[TimelineKernel], int]:
    """``kernels`` with operator/layer labels copied from identical labelled steps; and how many."""
    table = reference_table(reference)
    out = list(kernels)
    labelled = 0
    for idx in _steps(kernels):
        ks = [kernels[i] for i in idx]
        if all(k.operator for k in ks):
            continue
        labels = table.get((ks[0].phase, tuple(k.short_name for k in ks)))
        if labels is None:
            continue
        for i, (op, layer) in zip(idx, labels, strict=True):
            if out[i].operator is None:
                out[i] = replace(out[i], operator=op, layer=layer)
                labelled += 1
    return out, labelled
