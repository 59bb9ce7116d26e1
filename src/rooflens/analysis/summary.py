"""Section 三 per kernel name: the predecessor's per-kernel summary figures, computed correctly.

The seed report (docs/spec/seed_report_h800.md, 三) gives for each kernel name: 识别瓶颈数,
平均/最高/最低 SM效率, 低于50%数量 (n / total), 平均/最高/最低 带宽, 平均L2命中率,
低L2命中率kernel数, 平均L1命中率, 低L1命中率kernel数 and 主要瓶颈.  Here one row per distinct
short kernel name of the chosen run (launches of the same name grouped), from the NCU kernel
blocks of report.json (SI units, ``*_pct`` in percent):

- averages are duration-weighted (nsys durations), as the run-level SM efficiency of
  REPORT_SPEC 一; the average bandwidth is therefore Σ DRAM bytes / Σ duration;
- max / min over the kernels that have the figure; "low" counts use
  :data:`rooflens.analysis.findings.THRESHOLDS` and count over the kernels with the figure;
- the finding count is the number of distinct rules fired on the name's kernels, and the
  bottlenecks list each rule once with its kernel count, worst value and highest severity.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rooflens.analysis.findings import THRESHOLDS

_SEVERITY_RANK = {"low": 0, "medium": 1, "high": 2}


def _bandwidth(k: dict[str, Any]) -> float | None:
    """DRAM bytes / duration of one kernel (bytes/s), None without bytes or duration."""
    if k.get("dram_bandwidth_bps") is not None:
        return float(k["dram_bandwidth_bps"])
    nbytes, dur = k.get("dram_bytes"), k.get("duration_s")
    return float(nbytes) / float(dur) if nbytes is not None and dur else None


def _weighted(ks: list[dict[str, Any]], value: Callable[[dict[str, Any]], float | None]) -> float | None:  # fmt: skip
    """Duration-weighted mean of ``value`` over the kernels that have it."""
    pairs: list[tuple[float, float]] = []
    for k in ks:
        v = value(k)
        if v is not None:
            pairs.append((float(v), float(k.get("duration_s") or 0.0)))
    w = sum(d for _, d in pairs)
    if not pairs:
        return None
    if w <= 0:
        return sum(v for v, _ in pairs) / len(pairs)
    return sum(v * d for v, d in pairs) / w


def _stats(ks: list[dict[str, Any]], value: Callable[[dict[str, Any]], float | None],
           low_below: float | None = None) -> dict[str, Any]:  # fmt: skip
    """avg (duration-weighted), max, min, kernels with the figure and, with a threshold, how many are below it."""
    vals = [v for v in (value(k) for k in ks) if v is not None]
    out: dict[str, Any] = {
        "avg": _weighted(ks, value),
        "max": max(vals) if vals else None,
        "min": min(vals) if vals else None,
        "count": len(vals),
    }
    if low_below is not None:
        out["low_count"] = sum(1 for v in vals if v < low_below)
    return out


def _bottlenecks(ks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each rule fired on these kernels once: kernel count, worst value, highest severity."""
    by_rule: dict[str, dict[str, Any]] = {}
    for k in ks:
        for f in k.get("findings") or []:
            rule = f.get("rule") or "?"
            b = by_rule.setdefault(rule, {"rule": rule, "source": f.get("source") or "rooflens",
                                          "metric": f.get("metric"), "count": 0, "worst_value": None,
                                          "threshold": f.get("threshold"), "severity": "low"})  # fmt: skip
            b["count"] += 1
            v = f.get("value") if f.get("value") is not None else f.get("estimated_speedup")
            if isinstance(v, int | float) and (b["worst_value"] is None or _worse(b, float(v))):
                b["worst_value"] = float(v)
            sev = f.get("severity") or "low"
            if _SEVERITY_RANK.get(sev, 0) > _SEVERITY_RANK.get(b["severity"], 0):
                b["severity"] = sev
    return sorted(by_rule.values(), key=lambda b: (-_SEVERITY_RANK.get(b["severity"], 0), -b["count"], b["rule"]))  # fmt: skip


def _worse(b: dict[str, Any], v: float) -> bool:
    """NCU: a larger estimated speedup is worse; rooflens rules fire below a threshold."""
    return v > b["worst_value"] if b["source"] == "ncu" else v < b["worst_value"]


def summarize_kernel_names(kernels: list[dict[str, Any]]) -> dict[str, Any]:
    """The ``kernel_groups`` section: thresholds used and one row per distinct short kernel name,
    most total time first."""
    names: dict[str, list[dict[str, Any]]] = {}
    for k in kernels:
        names.setdefault(str(k.get("short_name") or k.get("name") or "?"), []).append(k)
    rows = []
    for name, ks in names.items():
        sm = _stats(ks, lambda k: k.get("sm_throughput_pct"), THRESHOLDS["sm_efficiency_low_pct"])
        bw = _stats(ks, _bandwidth)
        l2 = _stats(ks, lambda k: k.get("l2_hit_pct"), THRESHOLDS["l2_hit_low_pct"])
        l1 = _stats(ks, lambda k: k.get("l1_hit_pct"), THRESHOLDS["l1_hit_low_pct"])
        nbytes = [float(k["dram_bytes"]) for k in ks if k.get("dram_bytes") is not None]
        bottlenecks = _bottlenecks(ks)
        rows.append({
            "name": name, "count": len(ks),
            "duration_s": float(sum(float(k.get("duration_s") or 0.0) for k in ks)),
            "operators": sorted({str(k["operator"]) for k in ks if k.get("operator")}),
            "kernel_indices": [k.get("index") for k in ks],
            "finding_count": len(bottlenecks),
            "sm_efficiency_avg_pct": sm["avg"], "sm_efficiency_max_pct": sm["max"],
            "sm_efficiency_min_pct": sm["min"], "sm_efficiency_low_count": sm["low_count"],
            "sm_efficiency_count": sm["count"],
            "dram_bytes": float(sum(nbytes)) if nbytes else None,
            "bandwidth_avg_bps": bw["avg"], "bandwidth_max_bps": bw["max"], "bandwidth_min_bps": bw["min"],
            "l2_hit_avg_pct": l2["avg"], "l2_hit_low_count": l2["low_count"], "l2_hit_count": l2["count"],
            "l1_hit_avg_pct": l1["avg"], "l1_hit_low_count": l1["low_count"], "l1_hit_count": l1["count"],
            "bottlenecks": bottlenecks,
        })  # fmt: skip
    rows.sort(key=lambda r: -r["duration_s"])
    thresholds = {
        k: THRESHOLDS[k] for k in ("sm_efficiency_low_pct", "l2_hit_low_pct", "l1_hit_low_pct")
    }
    return {"thresholds": thresholds, "averages": "duration_weighted", "rows": rows}
