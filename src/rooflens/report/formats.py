"""Number and label formatters of the report: SI values of report.json → text, via rooflens.units.

Every renderer's figures pass through these (by way of :mod:`rooflens.report.view`), so the
zh and en Markdown and the HTML show the same strings.
"""

from __future__ import annotations

from typing import Any

from rooflens.units import (
    fmt_bandwidth,
    fmt_bytes,
    fmt_duration,
    fmt_flops_rate,
    fmt_pct,
    fmt_scaled,
    sig3,
)

NA = "n/a"


def f_time(x: float | None) -> str:
    return NA if x is None else fmt_duration(x)


def f_bytes(x: float | None) -> str:
    return NA if x is None else fmt_bytes(x)


def f_bw(x: float | None) -> str:
    return NA if x is None else fmt_bandwidth(x)


def f_rate(x: float | None) -> str:
    return NA if x is None else fmt_flops_rate(x)


def f_flops(x: float | None) -> str:
    return NA if x is None else fmt_scaled(x, "FLOP")


def f_intensity(x: float | None) -> str:
    return NA if x is None else f"{sig3(x)} FLOP/B"


def f_frac(x: float | None) -> str:
    """A fraction (0.69) as a percentage (``69.0%``)."""
    return NA if x is None else fmt_pct(x)


def f_pct(x: float | None) -> str:
    """A value already in percent (NCU's ``*_pct``) with a % sign."""
    return NA if x is None else f"{sig3(x)}%"


def f_gap(x: float | None) -> str:
    """A signed relative difference: −0.187 → ``-18.7%``, 7.1 → ``+710%``."""
    if x is None:
        return NA
    return ("+" if x > 0 else "") + fmt_pct(x)


def f_ratio(x: float | None) -> str:
    """A measured/predicted ratio: ``3.21×``."""
    return NA if x is None else f"{sig3(x)}×"


def f_dims(d: list[int] | None) -> str:
    return NA if not d else "(" + ", ".join(str(int(v)) for v in d) + ")"


def f_metric_value(metric: str | None, value: Any) -> str:
    """A finding's metric value in the unit its name implies."""
    if value is None:
        return NA
    if isinstance(value, str):
        return value
    if metric and metric.endswith("_pct"):
        return f_pct(value)
    if metric and metric.endswith("_s"):
        return f_time(value)
    if metric and metric.endswith("_bps"):
        return f_bw(value)
    if metric == "time_ratio":
        return f_ratio(value)
    return (
        f_frac(value)
        if metric in ("bubble_ratio", "roof_fraction", "estimated_speedup", "occupancy_ratio")
        else sig3(value)
    )


def f_text(x: Any) -> str:
    """A label or name as is (``n/a`` when missing)."""
    return NA if x is None or x == "" else str(x)


def f_count(x: Any) -> str:
    return NA if x is None else str(int(x))


def f_indices(indices: list[Any] | None, most: int = 6) -> str:
    """Kernel indices (0-based in report.json) as the 1-based numbers of the section 二 list,
    runs compressed: ``[3, 4, 5, 9]`` → ``4–6, 10``; at most ``most`` parts (the first ones,
    ``…`` and the last: one kernel per layer of a 32-layer model must not fill a line)."""
    nums = sorted(int(i) + 1 for i in indices or [] if i is not None)
    parts: list[str] = []
    start = prev = None
    for n in nums + [None]:
        if start is not None and (n is None or prev is None or n != prev + 1):
            parts.append(str(start) if start == prev else f"{start}–{prev}")
            start = None
        if n is not None and start is None:
            start = n
        prev = n
    if len(parts) > most:
        parts = [*parts[: most - 1], "…", parts[-1]]
    return ", ".join(parts)
