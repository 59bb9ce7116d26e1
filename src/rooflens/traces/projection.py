"""Kernel ↔ NVTX range join with nsys projection semantics, vectorised.

A kernel belongs to a push/pop range when the CUDA API call that launched it — joined by
``correlationId`` *and* process — starts inside that range on the same thread (not when the
kernel's GPU time falls inside it: GPU work runs later than the host code that queued it).
Start/end ranges may begin and end on different threads, so for them the launch only has to
start inside the range in the same process.  Everything is a sort plus ``searchsorted``,
so it scales to millions of kernels.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rooflens.traces.model import RANGE_PUSH_POP, RANGE_START_END, Trace


@dataclass
class Projection:
    """Per kernel (rows of ``trace.kernels``): its launch call and innermost enclosing range.

    ``launch_row`` is -1 when no launch call matched (a kernel cannot then be projected);
    ``launch_start_s``/``launch_tid`` are NaN/-1 then.  ``innermost`` is the deepest
    push/pop range containing the launch (-1: none); follow ``trace.ranges.parent`` for the stack.
    """

    launch_row: np.ndarray
    launch_start_s: np.ndarray
    launch_tid: np.ndarray
    innermost: np.ndarray


def _key(pid: np.ndarray, other: np.ndarray) -> np.ndarray:
    """One sortable int64 per (pid, other) pair (pids < 2**24, correlation / tid < 2**39)."""
    return (pid.astype(np.int64) << 39) | (other.astype(np.int64) & ((1 << 39) - 1))


def match_launches(trace: Trace) -> np.ndarray:
    """Row in ``trace.launches`` of each kernel's launch call (same process + correlation), else -1."""
    k, la = trace.kernels, trace.launches
    out = np.full(len(k), -1, dtype=np.int64)
    if not len(k) or not len(la):
        return out
    lkey = _key(la.pid, la.correlation)
    order = np.argsort(lkey, kind="stable")
    sk = lkey[order]
    kkey = _key(k.pid, k.correlation)
    pos = np.clip(np.searchsorted(sk, kkey), 0, sk.size - 1)
    hit = sk[pos] == kkey
    out[hit] = order[pos[hit]]
    return out


def innermost_ranges(trace: Trace, pid: np.ndarray, tid: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Deepest push/pop range on thread (pid, tid) with ``start <= t <= end``, per query; -1 if none."""
    r = trace.ranges
    out = np.full(t.shape[0], -1, dtype=np.int64)
    rows = np.flatnonzero(r.kind == RANGE_PUSH_POP)
    if not rows.size or not t.size:
        return out
    rkey = _key(r.pid[rows], r.tid[rows])
    qkey = _key(pid, tid)
    for thread in np.unique(rkey):
        q = np.flatnonzero((qkey == thread) & ~np.isnan(t))
        if not q.size:
            continue
        mine = rows[rkey == thread]
        mine = mine[np.argsort(r.start_s[mine], kind="stable")]
        pos = np.searchsorted(r.start_s[mine], t[q], side="right") - 1
        cand = np.where(pos >= 0, mine[np.maximum(pos, 0)], -1)
        # The latest-started range may have closed already: climb to an enclosing one.
        for _ in range(int(r.depth[mine].max(initial=0)) + 1):
            valid = cand >= 0
            closed = valid & (r.end_s[np.maximum(cand, 0)] < t[q])
            if not closed.any():
                break
            cand = np.where(closed, r.parent[np.maximum(cand, 0)], cand)
        out[q] = cand
    return out


def project(trace: Trace) -> Projection:
    """The projection join of every kernel of ``trace`` (see the module docstring)."""
    row = match_launches(trace)
    hit = row >= 0
    la = trace.launches
    start = np.full(row.shape[0], np.nan)
    tid = np.full(row.shape[0], -1, dtype=np.int64)
    start[hit] = la.start_s[row[hit]]
    tid[hit] = la.tid[row[hit]]
    inner = innermost_ranges(trace, trace.kernels.pid, tid, start)
    return Projection(launch_row=row, launch_start_s=start, launch_tid=tid, innermost=inner)


def ancestor_in(trace: Trace, innermost: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """For each kernel, the nearest range on its stack (innermost, then parents) with ``wanted[range]``.

    ``wanted`` is a boolean mask over ranges; the result is a range row or -1.
    """
    r = trace.ranges
    cur = innermost.copy()
    out = np.full(cur.shape[0], -1, dtype=np.int64)
    for _ in range(int(r.depth.max(initial=0)) + 2):
        live = cur >= 0
        if not live.any():
            break
        found = live & (out < 0) & wanted[np.maximum(cur, 0)]
        out[found] = cur[found]
        cur = np.where(live & (out < 0), r.parent[np.maximum(cur, 0)], -1)
    return out


def start_end_members(trace: Trace, proj: Projection, row: int) -> np.ndarray:
    """Kernels whose launch call starts inside start/end range ``row`` in the same process."""
    r = trace.ranges
    assert r.kind[row] == RANGE_START_END
    t = proj.launch_start_s
    return np.flatnonzero(
        (trace.kernels.pid == r.pid[row]) & (t >= r.start_s[row]) & (t <= r.end_s[row])
    )


def stack_names(trace: Trace, innermost: int) -> list[str]:
    """Names of the range stack of one kernel, outermost first."""
    names: list[str] = []
    cur = int(innermost)
    # A stack is at most as deep as there are ranges: the bound ends the walk even if a
    # corrupted parent column ever formed a loop (nesting never makes one).
    for _ in range(len(trace.ranges)):
        if cur < 0:
            break
        names.append(trace.strings[int(trace.ranges.name_id[cur])])
        cur = int(trace.ranges.parent[cur])
    return names[::-1]
