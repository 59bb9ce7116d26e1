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
    "bubble_ratio": 0.30,  # launch-bound when > 30 % of the window is idle
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


def _kernel_rules(k: dict[str, Any], total_s: float) -> list[dict[str, Any]]:
    """rooflens rules for one kernel (dict from report.json ``kernels`` or the timeline)."""
    dur = float(k.get("duration_s") or 0.0)
    if total_s <= 0 or dur / total_s < THRESHOLDS["min_kernel_share"]:
        return []
    op = k.get("operator")
    roof = k.get("roof_fraction")
    above_roof = dur * (1.0 - roof) if roof is not None else dur
    common = {"subject": k.get("short_name") or k.get("name"), "kernel_index": k.get("index")}
    out: list[dict[str, Any]] = []
    if op == "copy":
        out.append(
            _finding(
                "copy_cast",
                dur,
                total_s,
                message="copy/cast kernel",
                metric="operator",
                value=op,
                threshold=None,
                **common,
            )
        )
    if roof is not None and roof < THRESHOLDS["roof_fraction"]:
        out.append(
            _finding(
                "below_roof",
                above_roof,
                total_s,
                message="kernel far below its roofline",
                metric="roof_fraction",
                value=roof,
                threshold=THRESHOLDS["roof_fraction"],
                **common,
            )
        )
    occ = k.get("achieved_occupancy_pct")
    if occ is not None and occ < THRESHOLDS["achieved_occupancy_pct"]:
        out.append(
            _finding(
                "low_occupancy",
                above_roof,
                total_s,
                message="low achieved occupancy",
                metric="achieved_occupancy_pct",
                value=occ,
                threshold=THRESHOLDS["achieved_occupancy_pct"],
                **common,
            )
        )
    l2 = k.get("l2_hit_pct")
    if l2 is not None and op in _REREAD_OPERATORS and l2 < THRESHOLDS["l2_hit_pct"]:
        out.append(
            _finding(
                "low_l2_hit",
                above_roof,
                total_s,
                message="low L2 hit rate on re-read data",
                metric="l2_hit_pct",
                value=l2,
                threshold=THRESHOLDS["l2_hit_pct"],
                **common,
            )
        )
    return out


def kernel_findings(kernel: dict[str, Any], total_s: float) -> list[dict[str, Any]]:
    """rooflens rules for one kernel, for its NCU block in section 三."""
    return _kernel_rules(kernel, total_s)


def _ncu_findings(k: dict[str, Any], total_s: float) -> list[dict[str, Any]]:
    """NCU's own rule results of a kernel, with time at stake = estimated speedup × duration."""
    dur = float(k.get("duration_s") or 0.0)
    out = []
    for f in k.get("findings") or []:
        if f.get("source") != "ncu":
            continue
        speedup = f.get("estimated_speedup")
        stake = dur * float(speedup) if speedup is not None else 0.0
        out.append(
            _finding(
                f.get("rule") or "ncu",
                stake,
                total_s,
                source="ncu",
                subject=k.get("short_name") or k.get("name"),
                kernel_index=k.get("index"),
                message=f.get("message") or "",
                suggestion=f.get("suggestion") or SUGGESTIONS["ncu"],
                metric=f.get("metric") or "estimated_speedup",
                value=f.get("value") if f.get("value") is not None else speedup,
                threshold=f.get("threshold"),
                estimated_speedup=speedup,
                severity=f.get("severity") or _severity(stake / total_s if total_s else 0.0),
            )
        )
    return out


def rank_findings(
    timeline: dict[str, Any] | None,
    kernels: list[dict[str, Any]],
) -> list[dict[str, Any]]:
    """All findings of the chosen run, highest time at stake first.

    ``kernels`` are the per-kernel dicts (NCU block merged with timeline fields: duration,
    operator, roof fraction, occupancy, L2 hit, NCU findings).
    """
    total_s = float(sum(float(k.get("duration_s") or 0.0) for k in kernels))
    found: list[dict[str, Any]] = []
    lb = launch_bound_finding(timeline, total_s)
    if lb:
        found.append(lb)
    for k in kernels:
        found.extend(_kernel_rules(k, total_s))
        found.extend(_ncu_findings(k, total_s))
    found.sort(key=lambda f: (-f["time_at_stake_s"], f["rule"], f["kernel_index"] or -1))
    return found
