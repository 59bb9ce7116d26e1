"""Findings ranked by the time at stake: where the time beyond the roofline goes, and what to do.

Each finding is a plain dict ``{rule, source, severity, time_at_stake_s, subject, kernel_index,
message, suggestion, metric, value, threshold, estimated_speedup}``.  ``time_at_stake_s`` is
the time (seconds, per chosen run) that the fix could win at most, so findings from different
rules can be ranked on one scale:

- ``launch_bound`` (run): the GPU idles between kernels — stake = window − GPU busy.
- ``below_roof`` (kernel): achieved / attainable at its intensity < threshold — stake =
  duration × (1 − roof fraction), the time above what its roof allows.
- ``copy_cast`` (kernel): a copy or cast that a fused kernel would avoid — stake = duration.
- ``low_occupancy`` / ``low_l2_hit`` (kernel): stake = duration × (1 − roof fraction), since
  the most either fix can win is reaching the roof.
- NCU rule results (``source = "ncu"``) — stake = estimated speedup (fraction) × duration.

Thresholds are data (:data:`THRESHOLDS`) and every finding carries the one that fired it.
"""

from __future__ import annotations

from typing import Any

THRESHOLDS: dict[str, float] = {
    # Launch-bound when > 20 % of the window is idle.  On the H200 fixtures the same 1-layer
    # decode idles 28.6 % eager and 11.7 % replayed from CUDA graphs: 20 % separates them.
    "bubble_ratio": 0.20,
    "roof_fraction": 0.30,  # a kernel below 30 % of its roof is "far below"
    "achieved_occupancy_pct": 25.0,  # low occupancy below 25 % of warps
    "l2_hit_pct": 50.0,  # low L2 hit rate below 50 % on operators that re-read data
    "min_kernel_share": 0.01,  # ignore kernel rules on kernels under 1 % of the run
}

# Operators whose kernels re-read tiles (GEMM operands, K/V per query tile): a low L2 hit rate
# there means re-reads go to DRAM.
_REREAD_OPERATORS = {
    "qkv_proj",
    "o_proj",
    "gate_up_proj",
    "down_proj",
    "lm_head",
    "attention",
    "experts",
    "shared_experts",
}

SUGGESTIONS: dict[str, str] = {
    "launch_bound": "Capture the step with CUDA graphs (or torch.compile mode='reduce-overhead') "
    "so kernel launches stop leaving the GPU idle; batch more tokens per launch.",
    "below_roof": "Check the kernel's shape and tiling (a GEMM shape the library handles well, "
    "padding to multiples of 64/128) or use a fused/FP8 implementation.",
    "copy_cast": "Fuse the copy or cast into its producer or consumer (write the KV cache in "
    "place, keep one dtype end to end).",
    "low_occupancy": "Raise occupancy: fewer registers per thread or less shared memory per "
    "block, or more blocks (split-K / smaller tiles).",
    "low_l2_hit": "Improve reuse: tile order that keeps operands in L2 (swizzle / rasterisation), "
    "or a fused kernel that reads the data once.",
    "ncu": "Follow Nsight Compute's rule guidance for this kernel.",
    "latency_bound": "Give each kernel more work (larger batch, fuse small kernels) or cut launch "
    "overhead with CUDA graphs.",
}


def _severity(fraction_of_run: float) -> str:
    """high ≥ 20 % of the run's kernel time at stake, medium ≥ 5 %, else low."""
    if fraction_of_run >= 0.20:
        return "high"
    if fraction_of_run >= 0.05:
        return "medium"
    return "low"


def _finding(rule: str, stake_s: float, total_s: float, **fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "rule": rule,
        "source": "rooflens",
        "severity": _severity(stake_s / total_s if total_s else 0.0),
        "time_at_stake_s": stake_s,
        "subject": None,
        "kernel_index": None,
        "suggestion": SUGGESTIONS.get(rule, ""),
        "estimated_speedup": None,
    }
    base.update(fields)
    return base


def launch_bound_finding(timeline: dict[str, Any] | None, total_s: float) -> dict[str, Any] | None:
    """The chosen run idles more than the threshold: time at stake = window − busy."""
    run = next(
        (
            r
            for r in (timeline or {}).get("runs") or []
            if r.get("name") == (timeline or {}).get("chosen_run")
        ),
        None,
    )
    if not run or run.get("bubble_ratio") is None:
        return None
    ratio, limit = float(run["bubble_ratio"]), THRESHOLDS["bubble_ratio"]
    if ratio <= limit:
        return None
    idle = float(run.get("window_s") or 0.0) - float(run.get("gpu_busy_s") or 0.0)
    host = run.get("host_bound_gap_s")
    return _finding(
        "launch_bound",
        max(idle, 0.0),
        max(total_s, idle),
        subject=run["name"],
        message=f"{run['name']}: GPU idle for {ratio:.3g} of the window"
        + (f", host-bound gaps {host:.3g} s" if host is not None else ""),
        metric="bubble_ratio",
        value=ratio,
        threshold=limit,
    )


# Rules of rooflens.analysis.kernels that cover one of ours (same figure): ours is then skipped.
_COVERED_BY: dict[str, set[str]] = {
    "below_roof": {"below_roof", "far_from_roof"},
    "low_occupancy": {"low_occupancy"},
    "low_l2_hit": {"low_l2_hit"},
    "copy_cast": {"copy_cast"},
}


def kernel_findings(k: dict[str, Any], total_s: float) -> list[dict[str, Any]]:
    """rooflens rules for one kernel that its own ``findings`` do not already hold.

    The NCU block of a kernel may already carry rule results from
    :mod:`rooflens.analysis.kernels` (same figures, possibly other thresholds); a rule of ours
    that one of those covers is not repeated.
    """
    dur = float(k.get("duration_s") or 0.0)
    if total_s <= 0 or dur / total_s < THRESHOLDS["min_kernel_share"]:
        return []
    have = {f.get("rule") for f in k.get("findings") or []}
    op, roof = k.get("operator"), k.get("roof_fraction")
    common = {"subject": k.get("short_name") or k.get("name"), "kernel_index": k.get("index")}
    candidates: list[tuple[str, str, Any, float | None, str]] = []
    if op == "copy":
        candidates.append(("copy_cast", "operator", op, None, "copy/cast kernel"))
    if roof is not None and roof < THRESHOLDS["roof_fraction"]:
        candidates.append(
            (
                "below_roof",
                "roof_fraction",
                roof,
                THRESHOLDS["roof_fraction"],
                "kernel far below its roofline",
            )
        )
    occ, theo = k.get("achieved_occupancy_pct"), k.get("theoretical_occupancy_pct")
    # Low only if the launch could do better: achieved well under what its configuration allows.
    headroom = theo is None or (theo > 0 and occ is not None and occ / theo < 0.5)
    if occ is not None and occ < THRESHOLDS["achieved_occupancy_pct"] and headroom:
        candidates.append(
            (
                "low_occupancy",
                "achieved_occupancy_pct",
                occ,
                THRESHOLDS["achieved_occupancy_pct"],
                "low achieved occupancy",
            )
        )
    l2 = k.get("l2_hit_pct")
    if l2 is not None and op in _REREAD_OPERATORS and l2 < THRESHOLDS["l2_hit_pct"]:
        candidates.append(
            (
                "low_l2_hit",
                "l2_hit_pct",
                l2,
                THRESHOLDS["l2_hit_pct"],
                "low L2 hit rate on re-read data",
            )
        )
    out = []
    for rule, metric, value, threshold, message in candidates:
        if have & _COVERED_BY[rule]:
            continue
        f = _finding(
            rule,
            0.0,
            total_s,
            message=message,
            metric=metric,
            value=value,
            threshold=threshold,
            **common,
        )
        f["time_at_stake_s"] = time_at_stake(f, k)
        f["severity"] = _severity(f["time_at_stake_s"] / total_s)
        out.append(f)
    return out


def time_at_stake(f: dict[str, Any], k: dict[str, Any]) -> float:
    """Seconds a finding on kernel ``k`` could win at most (see the module docstring)."""
    dur = float(k.get("duration_s") or 0.0)
    if f.get("source") == "ncu":
        speedup = f.get("estimated_speedup")
        return dur * float(speedup) if speedup is not None else 0.0
    if f.get("rule") == "copy_cast":
        return dur
    roof = k.get("roof_fraction")
    return dur * max(0.0, 1.0 - float(roof)) if roof is not None else dur


def _ranked(f: dict[str, Any], k: dict[str, Any], total_s: float) -> dict[str, Any]:
    """A kernel's finding (any source) as a ranked entry with subject, stake and suggestion."""
    stake = time_at_stake(f, k)
    rule = f.get("rule") or "ncu"
    source = f.get("source") or "rooflens"
    suggestion = (
        f.get("suggestion") or SUGGESTIONS.get(_SUGGESTION_OF.get(rule, rule)) or SUGGESTIONS["ncu"]
    )
    return {
        "rule": rule,
        "source": source,
        "severity": f.get("severity") or _severity(stake / total_s if total_s else 0.0),
        "time_at_stake_s": stake,
        "subject": k.get("short_name") or k.get("name"),
        "kernel_index": k.get("index"),
        "message": f.get("message") or "",
        "suggestion": suggestion
        if source == "rooflens"
        else (f.get("suggestion") or SUGGESTIONS["ncu"]),
        "metric": f.get("metric") or ("estimated_speedup" if source == "ncu" else None),
        "value": f.get("value") if f.get("value") is not None else f.get("estimated_speedup"),
        "threshold": f.get("threshold"),
        "estimated_speedup": f.get("estimated_speedup"),
    }


# Rules of rooflens.analysis.kernels that share a suggestion with one of ours.
_SUGGESTION_OF = {"far_from_roof": "below_roof"}


def rank_findings(
    timeline: dict[str, Any] | None,
    kernels: list[dict[str, Any]],
) -> list[dict[str, Any]]:
    """All findings of the chosen run, highest time at stake first.

    ``kernels`` are per-kernel dicts (NCU block merged with the timeline's duration and
    operator); their own ``findings`` (NCU rules, rooflens.analysis.kernels rules) are ranked
    together with :func:`kernel_findings` and the run-level launch-bound rule.
    """
    total_s = float(sum(float(k.get("duration_s") or 0.0) for k in kernels))
    found: list[dict[str, Any]] = []
    lb = launch_bound_finding(timeline, total_s)
    if lb:
        found.append(lb)
    for k in kernels:
        found.extend(_ranked(f, k, total_s) for f in k.get("findings") or [])
        found.extend(kernel_findings(k, total_s))
    found.sort(key=lambda f: (-f["time_at_stake_s"], f["rule"], f["kernel_index"] or -1))
    return found
