"""Values of a Kineto event as both readers see them, and the filter of impossible rows.

The pure-Python reader converts each JSON scalar exactly as the native scanner
(``_fastread.c``: ``as_int``, ``as_float``) does, so the two give identical traces on any input,
corrupt ones included; a value outside int64 is the column's default, never an overflow.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from rooflens.traces.kineto_scan import Block
from rooflens.traces.sanity import KINETO_TIME_LIMIT_US, dropped_warning, plausible_times

I64_MAX = (1 << 63) - 1
_F64_INT_LIMIT = 9.2233720368547758e18
_JSON_WS = " \t\n\r"
_FLOAT_CHARS = frozenset("0123456789.eE+-")


def to_int(value: Any, default: int = -1) -> int:
    """Python's ``int()`` of a JSON scalar, as the native scanner's ``as_int`` computes it.

    ``default`` where that fails or leaves int64 (a corrupt id must not overflow a column):
    strings of at most 18 ASCII digits with an optional sign, floats truncated toward zero.
    """
    t = type(value)
    if t is int:
        return value if -I64_MAX <= value <= I64_MAX else default
    if t is bool:
        return int(value)
    if t is float:
        if not math.isfinite(value) or abs(value) >= _F64_INT_LIMIT:
            return default
        return int(value)
    if t is str:
        text = value.strip(_JSON_WS)
        digits = text[1:] if text[:1] in ("-", "+") else text
        if not digits or len(digits) > 18 or not (digits.isascii() and digits.isdigit()):
            return default
        return int(text)
    return default


def to_float(value: Any) -> float | None:
    """Python's ``float()`` of a JSON scalar as the native scanner's ``as_float`` computes it
    (decimal text only: no ``inf``, ``nan``, hex or ``_``); ``None`` where that fails."""
    t = type(value)
    if t is float or t is int or t is bool:
        try:
            return float(value)
        except OverflowError:  # an integer beyond float64
            return None
    if t is str:
        text = value.strip(_JSON_WS)
        if not text or not _FLOAT_CHARS.issuperset(text):
            return None
        try:
            return float(text)
        except ValueError:
            return None
    return None


def dim3(value: Any) -> tuple[int, int, int]:
    if isinstance(value, list | tuple) and len(value) == 3:
        return (to_int(value[0], 0), to_int(value[1], 0), to_int(value[2], 0))
    return (0, 0, 0)


TABLES = ("kernel", "launch", "range", "copy")
_WHAT = {"kernel": "kernels", "launch": "launch calls", "range": "ranges", "copy": "copies"}


def plausible_block(block: Block, table: str, warnings: list[str]) -> Block:
    """``block`` without impossible rows (counted in ``warnings``): NaN, infinite or huge times,
    negative durations (zero too for kernels), negative sizes or launch dimensions."""
    # Both ends within the limit; the length judged on ``dur`` itself, since at an epoch-sized
    # ts (~1.7e15 us, float64 steps of 0.25 us) ts + dur may round back to ts.
    ok = plausible_times(block.ts, block.ts + block.dur, KINETO_TIME_LIMIT_US, positive=False)
    with np.errstate(invalid="ignore"):
        ok &= (block.dur > 0) if table == "kernel" else (block.dur >= 0)
    sizes = {"kernel": block.ints[5:], "copy": block.ints[3:4]}.get(table, [])
    for col in sizes:
        ok &= col >= 0
    dropped = len(block) - int(np.count_nonzero(ok))
    if not dropped:
        return block
    why = "NaN, infinite or out-of-range time, negative duration" + (
        ", zero duration or negative launch size" if table == "kernel" else
        ", negative bytes" if table == "copy" else "")  # fmt: skip
    warnings.append(dropped_warning(_WHAT[table], dropped, len(block), why))
    return Block([c[ok] for c in block.ints], block.ts[ok], block.dur[ok])
