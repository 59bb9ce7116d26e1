"""Nesting of NVTX push/pop ranges: depth and parent of every range, vectorised.

Push/pop ranges on one thread form a stack, so a range's depth is the number of ranges on
its thread that are open when it starts, and its parent is the latest-started range one level
up.  Both follow from one sort of the start/end events (no Python loop over ranges), which
keeps millions of ranges cheap.  Start/end ranges may cross threads and do not nest: depth 0,
parent -1.
"""

from __future__ import annotations

import numpy as np

from rooflens.traces.model import RANGE_PUSH_POP, NvtxRanges


def assign_nesting(ranges: NvtxRanges) -> None:
    """Fill ``ranges.depth`` and ``ranges.parent`` in place (see the module docstring)."""
    n = len(ranges)
    depth = np.zeros(n, dtype=np.int64)
    parent = np.full(n, -1, dtype=np.int64)
    rows = np.flatnonzero(ranges.kind == RANGE_PUSH_POP)
    if rows.size:
        d, p = _nest_rows(ranges, rows)
        depth[rows] = d
        parent[rows] = np.where(p >= 0, rows[np.maximum(p, 0)], -1)
    ranges.depth = depth
    ranges.parent = parent


def _nest_rows(ranges: NvtxRanges, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Depth and parent (as a position in ``rows``, -1 for none) of the push/pop ranges ``rows``."""
    m = rows.size
    start = ranges.start_s[rows]
    end = ranges.end_s[rows]
    pid = np.concatenate([ranges.pid[rows]] * 2)
    tid = np.concatenate([ranges.tid[rows]] * 2)
    time = np.concatenate([start, end])
    # At one instant: ends of earlier ranges first, then starts (outer before inner),
    # then ends of zero-length ranges (so they close after they open).
    zero = end == start
    order_key = np.concatenate([np.ones(m), np.where(zero, 2.0, 0.0)])
    tie = np.concatenate([-end, np.zeros(m)])
    delta = np.concatenate([np.ones(m, dtype=np.int64), -np.ones(m, dtype=np.int64)])
    owner = np.concatenate([np.arange(m), np.arange(m)])
    order = np.lexsort((tie, order_key, time, tid, pid))
    running = np.cumsum(delta[order])
    is_start = delta[order] > 0
    start_pos = np.flatnonzero(is_start)
    start_owner = owner[order][start_pos]
    start_depth = running[start_pos] - 1
    depth = np.empty(m, dtype=np.int64)
    depth[start_owner] = start_depth
    parent = np.full(m, -1, dtype=np.int64)
    for level in range(1, int(start_depth.max(initial=0)) + 1):
        cands = start_pos[start_depth == level - 1]
        targets = start_pos[start_depth == level]
        idx = np.searchsorted(cands, targets) - 1
        parent[owner[order][targets]] = owner[order][cands[idx]]
    return depth, parent
