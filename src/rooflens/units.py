"""Units: converted once, at the parser boundary, to SI base units; formatted once, for reading.

Inside rooflens every quantity is a float in a base unit named in its variable:
``duration_s``, ``dram_bytes``, ``flops`` (FLOP), ``bandwidth_bps`` (bytes/s),
``peak_flops`` (FLOP/s), ratios as fractions, ``*_pct`` as percent (0..100, as NCU reports).

Tools report other units — NCU's raw CSV carries ``usecond``, ``Mbyte``, ``Tbyte/second``,
``%`` … in a units row — so :func:`to_si` is the single place where a (value, unit) pair
becomes a base-unit float.  :func:`fmt` is the single place where a base-unit float becomes
text with 3 significant figures and a unit chosen for its magnitude.
"""

from __future__ import annotations

import math
import re

# Decimal prefixes as NCU and nsys use them (NCU "Kbyte" is 1000 bytes, not 1024).
_PREFIX: dict[str, float] = {
    "": 1.0,
    "k": 1e3,
    "K": 1e3,
    "M": 1e6,
    "G": 1e9,
    "T": 1e12,
    "P": 1e15,
    "m": 1e-3,
    "u": 1e-6,
    "µ": 1e-6,
    "n": 1e-9,
    "p": 1e-12,
}

# Binary prefixes (IEC) for sizes that the hardware reports in powers of two (L2: 50 MiB).
_BINARY_PREFIX: dict[str, float] = {"Ki": 2.0**10, "Mi": 2.0**20, "Gi": 2.0**30, "Ti": 2.0**40}

_TIME_BASE = {"s", "sec", "second", "seconds"}
_BYTE_BASE = {"b", "byte", "bytes"}
_RATE_SUFFIX = re.compile(r"^(?P<num>.+?)\s*(?:/|per\s*)\s*(?:s|sec|second|seconds)$", re.I)

# Units whose values need no scaling: dimensionless counts, percentages, cycles, etc.
_PASSTHROUGH = {
    "",
    "%",
    "inst",
    "warp",
    "warps",
    "block",
    "blocks",
    "thread",
    "threads",
    "register/thread",
    "register",
    "cycle",
    "cycles",
    "sector",
    "sectors",
    "request",
    "requests",
    "ops",
    "flop",
    "none",
    "sm",
    "sms",
    "byte/block",
    "ratio",
    "x",
}

# Units NCU uses for clock rates: convert to Hz.
_HZ = {"hz": 1.0, "khz": 1e3, "mhz": 1e6, "ghz": 1e9, "cycle/nsecond": 1e9, "cycle/usecond": 1e6}


class UnitError(ValueError):
    """A unit string that rooflens does not know how to convert."""


def _scale_time(unit: str) -> float | None:
    u = unit.strip()
    low = u.lower()
    if low in _TIME_BASE:
        return 1.0
    for name in ("second", "sec", "s"):
        if u.endswith(name) and len(u) > len(name):
            prefix = u[: -len(name)]
            if prefix in ("msecond", "usecond", "nsecond"):
                break
            if prefix in _PREFIX:
                return _PREFIX[prefix]
            if prefix.lower() in ("u", "n", "m", "µ"):
                return _PREFIX[prefix.lower()]
    return None


def _scale_bytes(unit: str) -> float | None:
    u = unit.strip()
    if u.lower() in _BYTE_BASE:
        return 1.0
    for name in ("bytes", "byte", "B"):
        if u.endswith(name) and len(u) > len(name):
            prefix = u[: -len(name)]
            if prefix in _PREFIX:
                return _PREFIX[prefix]
            if prefix in _BINARY_PREFIX:
                return _BINARY_PREFIX[prefix]
            if prefix.upper() in ("K", "M", "G", "T"):
                return _PREFIX[prefix.upper()]
    return None


def scale_to_si(unit: str) -> float:
    """Factor that turns a value in ``unit`` into its SI base unit (s, byte, byte/s, FLOP/s, Hz, 1).

    >>> scale_to_si("usecond")
    1e-06
    >>> scale_to_si("Tbyte/second")
    1000000000000.0
    """
    u = (unit or "").strip()
    low = u.lower()
    if low in _PASSTHROUGH:
        return 1.0
    if low in _HZ:
        return _HZ[low]
    m = _RATE_SUFFIX.match(u)
    if m:
        num = m.group("num").strip()
        b = _scale_bytes(num)
        if b is not None:
            return b
        if num.lower() in ("inst", "warp", "flop", "ops", "request", "sector", "cycle"):
            return 1.0
        pre = num[:-4] if num.lower().endswith("flop") else None
        if pre is not None and pre in _PREFIX:
            return _PREFIX[pre]
        pre = num[:-3] if num.lower().endswith("ops") else None
        if pre is not None and pre in _PREFIX:
            return _PREFIX[pre]
    t = _scale_time(u)
    if t is not None:
        return t
    # NCU spells time as "msecond", "usecond", "nsecond".
    for prefix, factor in (("m", 1e-3), ("u", 1e-6), ("n", 1e-9)):
        if low == f"{prefix}second":
            return factor
    if low in ("ms",):
        return 1e-3
    if low in ("us", "µs"):
        return 1e-6
    if low in ("ns",):
        return 1e-9
    b = _scale_bytes(u)
    if b is not None:
        return b
    raise UnitError(f"unknown unit {unit!r}")


def to_si(value: float, unit: str) -> float:
    """``value`` expressed in ``unit``, converted to the SI base unit."""
    return float(value) * scale_to_si(unit)


def parse_number(text: str) -> float:
    """Parse a number as tools print it: thousands separators, ``n/a`` → NaN.

    NCU's CSV prints ``"1,048,576"`` and ``"3,089,754.67"``.
    """
    t = text.strip().replace(",", "")
    if t in ("", "n/a", "N/A", "nan", "NaN", "-"):
        return math.nan
    return float(t)


# ---------------------------------------------------------------------------------------------
# Formatting for humans: three significant figures, a unit chosen per magnitude.

_SI_STEPS = [(1e15, "P"), (1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k"), (1.0, "")]


def sig3(x: float) -> str:
    """Three significant figures, no exponent for everyday magnitudes (``0.708``, ``989``, ``1.29``)."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    if x == 0:
        return "0"
    ax = abs(x)
    if ax >= 1e5 or ax < 1e-3:
        return f"{x:.3g}"
    digits = 2 - int(math.floor(math.log10(ax)))
    digits = max(digits, 0)
    s = f"{round(x, digits):.{digits}f}"
    return s


def fmt_scaled(x: float, unit: str) -> str:
    """``x`` in a base unit, printed with a decimal prefix: ``fmt_scaled(3.35e12, "B/s")`` → ``3.35 TB/s``."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    ax = abs(x)
    for factor, prefix in _SI_STEPS:
        if ax >= factor:
            return f"{sig3(x / factor)} {prefix}{unit}"
    return f"{sig3(x)} {unit}"


def fmt_duration(seconds: float) -> str:
    """A duration in the unit that suits it: ``12.3 us``, ``0.708 ms``, ``1.20 s``."""
    if seconds is None or (isinstance(seconds, float) and math.isnan(seconds)):
        return "n/a"
    a = abs(seconds)
    if a == 0:
        return "0 s"
    if a >= 1.0:
        return f"{sig3(seconds)} s"
    if a >= 1e-3:
        return f"{sig3(seconds * 1e3)} ms"
    if a >= 1e-6:
        return f"{sig3(seconds * 1e6)} us"
    return f"{sig3(seconds * 1e9)} ns"


def fmt_bytes(n: float) -> str:
    """Bytes with a decimal prefix: ``1.29 GB``."""
    return fmt_scaled(n, "B")


def fmt_bandwidth(bps: float) -> str:
    """Bytes per second with a decimal prefix: ``280 GB/s``, ``3.35 TB/s``."""
    return fmt_scaled(bps, "B/s")


def fmt_flops_rate(flops_per_s: float) -> str:
    """FLOP/s with a decimal prefix: ``989 TFLOP/s``."""
    return fmt_scaled(flops_per_s, "FLOP/s")


def fmt_pct(fraction: float) -> str:
    """A fraction as a percentage with 3 significant figures: 0.813 → ``81.3%``."""
    if fraction is None or (isinstance(fraction, float) and math.isnan(fraction)):
        return "n/a"
    return f"{sig3(fraction * 100)}%"
