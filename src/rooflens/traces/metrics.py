"""The versioned NCU metric map (``ncu_metrics.toml``): which counters rooflens reads, and why."""

from __future__ import annotations

import math
import tomllib
from functools import lru_cache
from importlib import resources
from typing import Any


@lru_cache(maxsize=1)
def metric_map() -> dict[str, Any]:
    """The parsed ``ncu_metrics.toml`` (figure → alternative metric names, FLOP counters)."""
    text = resources.files("rooflens.traces").joinpath("ncu_metrics.toml").read_text("utf-8")
    return tomllib.loads(text)


@lru_cache(maxsize=1)
def used_metrics() -> frozenset[str]:
    """Every metric name the map mentions: a unit rooflens cannot convert is an error only for these."""
    m = metric_map()
    names: set[str] = {n for alts in m["figures"].values() for n in alts}
    for alternatives in m["flops"]["tensor"].values():
        names.update(n for group in alternatives for n in group)
    for op in m["flops"]["cuda_core"].values():
        names.update(op["names"])
    return frozenset(names)


@lru_cache(maxsize=1)
def nonnegative_metrics() -> frozenset[str]:
    """The metrics rooflens reads that count something (time, bytes, FLOP): never below 0.
    (Percentages are left out: NCU itself prints small negative ``…min.pct…`` values.)"""
    return frozenset(m for m in used_metrics() if "pct" not in m)


def impossible(name: str, value: float) -> bool:
    """Whether a metric value cannot be real: infinite or NaN, or a negative count/time/size."""
    return not math.isfinite(value) or (value < 0 and name in nonnegative_metrics())
