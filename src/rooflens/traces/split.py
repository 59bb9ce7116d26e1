"""One trace per process: the ranks of a tensor-parallel run captured in one nsys report.

``nsys profile torchrun …`` records every rank's process in one report; each rank launches its
own kernels on its own GPU and marks the same NVTX structure (``Run[j]``, ``Layer[i]#Run[j]``).
Analysed as one trace, the ranks' ranges of the same name would merge into one run.  Splitting by
process first gives one ordinary trace per rank.  Pure array selection; strings are shared.
"""

from __future__ import annotations

from dataclasses import fields, replace
from typing import Any

import numpy as np

from rooflens.traces.model import Copies, Kernels, Launches, NvtxRanges, Trace


def _subset(table: Any, rows: np.ndarray) -> Any:
    """The rows ``rows`` of a columnar table (every column sliced alike)."""
    return type(table)(**{f.name: getattr(table, f.name)[rows] for f in fields(table)})


def kernel_processes(trace: Trace) -> list[int]:
    """Processes that ran kernels, ordered by their first GPU (device id), then pid."""
    k = trace.kernels
    if not len(k):
        return []
    pids = np.unique(k.pid)
    first_device = {int(p): int(k.device[k.pid == p].min()) for p in pids}
    return sorted(first_device, key=lambda p: (first_device[p], p))


def split_by_process(trace: Trace) -> list[Trace]:
    """One trace per process that ran kernels (rank order: by device, then pid).

    A trace with a single such process is returned as it is.  NVTX ranges keep their ``parent``
    links only within a process (nesting is per thread), so they are re-indexed per subset.
    """
    pids = kernel_processes(trace)
    if len(pids) <= 1:
        return [trace]
    out = []
    r = trace.ranges
    for pid in pids:
        rows = np.flatnonzero(r.pid == pid)
        remap = np.full(len(r) + 1, -1, dtype=np.int64)
        remap[rows] = np.arange(rows.size)
        ranges: NvtxRanges = _subset(r, rows)
        ranges.parent = remap[np.where(ranges.parent >= 0, ranges.parent, len(r))]
        kernels: Kernels = _subset(trace.kernels, np.flatnonzero(trace.kernels.pid == pid))
        devices = set(np.unique(kernels.device).tolist())
        out.append(
            replace(
                trace,
                path=f"{trace.path}#pid{pid}",
                kernels=kernels,
                launches=_subset(trace.launches, np.flatnonzero(trace.launches.pid == pid))
                if len(trace.launches)
                else Launches(),
                ranges=ranges,
                copies=_subset(trace.copies, np.flatnonzero(trace.copies.pid == pid))
                if len(trace.copies)
                else Copies(),
                gpus=[g for g in trace.gpus if g.device in devices] or list(trace.gpus),
                warnings=list(trace.warnings),
            )
        )
    return out
