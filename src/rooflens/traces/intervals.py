"""Busy time and idle gaps of kernel intervals, per segment (run instance), vectorised.

Used by the timeline analysis for every run at once: a long session has tens of thousands of
runs, so nothing here loops over segments or kernels in Python.  Times in seconds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class SegmentGaps:
    """Per segment (sorted ``seg_ids``): first start, last end, busy time, idle gaps split by cause."""

    seg_ids: np.ndarray
    first_start: np.ndarray
    last_end: np.ndarray
    busy: np.ndarray
    host_gap: np.ndarray
    other_gap: np.ndarray
    host_count: np.ndarray
    other_count: np.ndarray


def _running_max(e_ns: np.ndarray, rank: np.ndarray, new_seg: np.ndarray) -> np.ndarray:
    """Running maximum of ``e_ns`` restarting at each segment.  One shifted accumulate while the
    shifts fit in int64 (always, for real captures); per segment otherwise (a trace spanning
    decades, which only a corrupt file has), so nothing ever wraps around."""
    span = int(e_ns.max()) + 1
    if int(rank[-1]) * span + span < 2**62:
        shift = rank.astype(np.int64) * span
        return np.maximum.accumulate(e_ns + shift) - shift
    out = np.empty_like(e_ns)
    bounds = np.r_[np.flatnonzero(new_seg), e_ns.size]
    for lo, hi in zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True):
        out[lo:hi] = np.maximum.accumulate(e_ns[lo:hi])
    return out


def segment_gaps(
    seg: np.ndarray, start: np.ndarray, end: np.ndarray, launch: np.ndarray
) -> SegmentGaps:
    """Interval union and idle gaps of kernels grouped by ``seg``, vectorised over all segments.

    Sorted by start within a segment, a gap opens before kernel i when it starts after the
    running maximum end of the kernels before it.  The running maximum must restart at each
    segment: times become integer nanoseconds (nsys and Kineto are ns-exact) and each segment
    is shifted past the previous one, so one ``maximum.accumulate`` serves all segments exactly.
    """
    n = seg.shape[0]
    if n == 0:
        z = np.zeros(0)
        return SegmentGaps(
            np.zeros(0, np.int64), z, z, z, z, z, np.zeros(0, np.int64), np.zeros(0, np.int64)
        )
    if n > 1 and bool(np.all(start[1:] >= start[:-1])):  # already by start: group, stably
        order = np.argsort(seg, kind="stable")
    else:
        order = np.lexsort((start, seg))
    sg, s, e, ls = seg[order], start[order], end[order], launch[order]
    new_seg = np.r_[True, sg[1:] != sg[:-1]]
    ids, rank = sg[new_seg], np.cumsum(new_seg) - 1
    t0 = float(min(s.min(), e.min()))
    s_ns = np.rint((s - t0) * 1e9).astype(np.int64)
    e_ns = np.rint((e - t0) * 1e9).astype(np.int64)
    run_max = _running_max(e_ns, rank, new_seg)
    first = new_seg
    prev_max = np.r_[np.int64(0), run_max[:-1]]
    gap = np.where(first, 0, np.maximum(s_ns - prev_max, 0))
    ls_ns = np.where(
        np.isnan(ls), -(2**62), np.rint((np.nan_to_num(ls, nan=t0) - t0) * 1e9)
    ).astype(np.int64)
    host = (gap > 0) & (ls_ns >= prev_max)
    other = (gap > 0) & ~host
    m = ids.size
    host_gap = np.bincount(rank, weights=np.where(host, gap, 0), minlength=m) * 1e-9
    other_gap = np.bincount(rank, weights=np.where(other, gap, 0), minlength=m) * 1e-9
    starts_at = np.flatnonzero(first)
    ends_at = np.r_[starts_at[1:] - 1, n - 1]
    first_start = s[starts_at]
    last_end = np.maximum.reduceat(e, starts_at)
    span_ns = run_max[ends_at] - s_ns[starts_at]
    busy = span_ns * 1e-9 - host_gap - other_gap
    return SegmentGaps(
        ids, first_start, last_end, busy, host_gap, other_gap,
        np.bincount(rank, weights=host, minlength=m).astype(np.int64),
        np.bincount(rank, weights=other, minlength=m).astype(np.int64),
    )  # fmt: skip
