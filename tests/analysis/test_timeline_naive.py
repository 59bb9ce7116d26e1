"""Vectorised busy/gap and projection code against plain-Python loops written here, on random data."""

from __future__ import annotations

import numpy as np
import pytest

from rooflens.traces.intervals import segment_gaps
from rooflens.traces.model import (
    Copies,
    Kernels,
    Launches,
    NvtxRanges,
    StringTable,
    Trace,
)
from rooflens.traces.nesting import assign_nesting
from rooflens.traces.projection import innermost_ranges


def _naive_segment(
    start: list[float], end: list[float], launch: list[float]
) -> tuple[float, float, float]:
    """(busy, host-bound gap, other gap) of one segment by a sweep over kernels sorted by start."""
    order = sorted(range(len(start)), key=lambda i: start[i])
    busy = host = other = 0.0
    cur_s, cur_e = start[order[0]], end[order[0]]
    max_end = cur_e
    for i in order[1:]:
        if start[i] > max_end:
            busy += cur_e - cur_s
            gap = start[i] - max_end
            if launch[i] >= max_end:
                host += gap
            else:
                other += gap
            cur_s, cur_e = start[i], end[i]
        else:
            cur_e = max(cur_e, end[i])
        max_end = max(max_end, end[i])
    busy += cur_e - cur_s
    return busy, host, other


@pytest.mark.parametrize("seed", range(5))
def test_segment_gaps_match_a_sweep(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = 400
    seg = rng.integers(0, 7, n)
    start = rng.integers(0, 100_000, n) * 1e-9  # ns-exact times, as nsys gives them
    end = start + rng.integers(1, 3_000, n) * 1e-9
    launch = start - rng.integers(-2_000, 5_000, n) * 1e-9
    g = segment_gaps(seg, start, end, launch)
    for i, s in enumerate(g.seg_ids):
        m = seg == s
        busy, host, other = _naive_segment(list(start[m]), list(end[m]), list(launch[m]))
        assert g.busy[i] == pytest.approx(busy, abs=1e-12)
        assert g.host_gap[i] == pytest.approx(host, abs=1e-12)
        assert g.other_gap[i] == pytest.approx(other, abs=1e-12)


def _random_ranges(
    rng: np.random.Generator, threads: int
) -> tuple[list[tuple[float, float, int, int]], int]:
    """Properly nested push/pop ranges per thread, made by random recursive splitting."""
    out: list[tuple[float, float, int, int]] = []

    def split(lo: float, hi: float, tid: int, depth: int) -> None:
        if depth > 4 or hi - lo < 4:
            return
        cuts = np.sort(rng.uniform(lo, hi, 2 * int(rng.integers(1, 4))))
        for a, b in zip(cuts[::2], cuts[1::2], strict=True):
            out.append((float(a), float(b), 1, tid))
            split(float(a), float(b), tid, depth + 1)

    for tid in range(threads):
        split(0.0, 1000.0, tid, 0)
    return out, len(out)


def _naive_innermost(
    ranges: list[tuple[float, float, int, int]], pid: int, tid: int, t: float
) -> int:
    best, best_len = -1, float("inf")
    for i, (s, e, p, th) in enumerate(ranges):
        if p == pid and th == tid and s <= t <= e and e - s < best_len:
            best, best_len = i, e - s
    return best


@pytest.mark.parametrize("seed", range(5))
def test_innermost_range_matches_a_scan(seed: int) -> None:
    rng = np.random.default_rng(seed)
    ranges, n = _random_ranges(rng, threads=3)
    nv = NvtxRanges(
        name_id=np.zeros(n, np.int64), start_s=np.array([r[0] for r in ranges]),
        end_s=np.array([r[1] for r in ranges]), pid=np.array([r[2] for r in ranges]),
        tid=np.array([r[3] for r in ranges]), kind=np.zeros(n, np.int64),
    )  # fmt: skip
    assign_nesting(nv)
    trace = Trace("nsys", "x", StringTable(["r"]), Kernels(), Launches(), nv, Copies())
    q = 300
    qt = rng.uniform(0, 1000, q)
    qtid = rng.integers(0, 4, q)  # thread 3 has no ranges
    qpid = np.ones(q, np.int64)
    got = innermost_ranges(trace, qpid, qtid, qt)
    want = [_naive_innermost(ranges, 1, int(qtid[i]), float(qt[i])) for i in range(q)]
    assert got.tolist() == want
