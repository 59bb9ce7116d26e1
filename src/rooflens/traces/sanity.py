"""Impossible records: which rows a reader drops, and the one-line warning that counts them.

A damaged or adversarial capture can hold events that end before they start, kernels of zero
length, timestamps near 2**63 or values like -1e308 and NaN.  Left in, they become negative
kernel times, negative busy time and ratios below 0 in a report.  Every timeline reader keeps
only rows that pass :func:`plausible_times` (and its own table's checks) and reports what it
dropped through :func:`dropped_warning`, so analyze and report can show it.
"""

from __future__ import annotations

import math

import numpy as np

#: Largest |timestamp| a reader accepts, in the tool's own unit: 4e18 ns and 4e15 us are about
#: 127 years (epoch-based clocks stay valid to 2096).  Two such times differ by at most 8e18 ns,
#: which int64 holds: the busy-time sums (traces/intervals.py) work in integer nanoseconds.
#: Larger values are corruption, and would overflow or lose every digit of a kernel's length.
NSYS_TIME_LIMIT_NS = 4_000_000_000_000_000_000
KINETO_TIME_LIMIT_US = 4e15


def plausible_times(
    start: np.ndarray, end: np.ndarray, limit: float, *, positive: bool
) -> np.ndarray:
    """Rows whose ``start``/``end`` are finite, within ``±limit`` and ordered.

    ``positive``: the row must last longer than zero (a GPU kernel always does; an NVTX range
    or a memset may be empty).
    """
    with np.errstate(invalid="ignore"):
        ok = (np.abs(start) <= limit) & (np.abs(end) <= limit)
        ok &= (end > start) if positive else (end >= start)
    return np.asarray(ok, dtype=bool)


def dropped_warning(what: str, dropped: int, total: int, why: str) -> str:
    """``"3 of 1421 kernels dropped as impossible (why)"`` — one line, with the count."""
    return f"{dropped} of {total} {what} dropped as impossible ({why})"


def positive_int(v: object) -> int | None:
    """A positive, finite number below 2**63 as ``int``; ``None`` for anything else (text, NULL,
    inf, ≤ 0): a GPU's SM count or memory size read from a file may be any of these."""
    if isinstance(v, bool) or not isinstance(v, int | float):
        return None
    if not math.isfinite(v) or v <= 0 or v >= 2**63:
        return None
    return int(v)
