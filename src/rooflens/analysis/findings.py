"""Where the time beyond the roofline goes, and what to do: findings grouped and ranked.

Per-kernel rule results live in each NCU kernel's ``findings`` (section 三): NCU's own rules
and :mod:`rooflens.analysis.kernels`' roofline rules, plus ``copy_cast`` from here.  This
module does not repeat a rule that ``analysis.kernels`` fires; it *groups* the per-kernel
results by (rule, operator) — or (rule, kernel short name / NVTX range) without an operator —
adds the run- and operator-level rules, and ranks the groups by **time at stake**: the time
(seconds, per chosen run) the fix could save at most, per rule kind and on the ideal roofline or,
with a calibration, beyond attainable (:mod:`rooflens.analysis.stakes`).

A group's stake is the Σ over its kernels of that one rule's stake.  One kernel's time is never
summed across rules: a lower-level finding (a diagnosis, or the roof rule under a fragmented
operator) on a kernel already in a higher-level group of the same subject is *folded* into that
group (``also``: rule → kernel count) instead of forming a group of its own.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from rooflens.analysis.operators import operator_class
from rooflens.analysis.runs import chosen_run_of
from rooflens.analysis.stakes import (
    RULE_KINDS,
    UNKNOWN_LEVEL,
    Shares,
    attainable_stake,
    implementation_shares,
    settle_stake,
    subject_of,
    time_at_stake,
)
from rooflens.analysis.suggestions import SUGGESTIONS, suggestion_key
from rooflens.vocab import canonical_phase

__all__ = [
    "RULE_KINDS",
    "SUGGESTIONS",
    "THRESHOLDS",
    "attainable_stake",
    "implementation_shares",
    "kernel_findings",
    "launch_bound_finding",
    "rank_findings",
    "subject_of",
    "suggestion_key",
    "time_at_stake",
]

# Every threshold of this module, in one table.
THRESHOLDS: dict[str, float] = {
    # Launch-bound when > 20 % of the window is idle.  On the H200 fixtures the same 1-layer
    # decode idles 28.6 % eager and 11.7 % replayed from CUDA graphs: 20 % separates them.
    "bubble_ratio": 0.20,
    # An operator served by ≥ 3 kernels that takes ≥ 3× its predicted time is fragmented:
    # rope on the H200 prefill runs as 10 kernels in 28.7 us against 0.55 us predicted.
    "fragment_kernel_count": 3,
    "fragment_time_ratio": 3.0,
    # A low L2 hit rate costs DRAM traffic only if the operator moved more bytes than predicted:
    # within 1.1× of the minimum, the data is streamed once (lm_head's weights, say).
    "reread_bytes_ratio": 1.1,
    "min_kernel_share": 0.01,  # copy_cast skips kernels under 1 % of the run's kernel time
    # Section 三 per-name summary (the seed's "低于50%" / "低L2/L1命中率" counts).
    "sm_efficiency_low_pct": 50.0,
    "l2_hit_low_pct": 50.0,
    "l1_hit_low_pct": 50.0,
}

# Rules that are one family in a group (kernels.py fires at most one of them per kernel).
_FAMILY = {"far_from_roof": "below_roof"}

# A low L2 hit rate only matters where data is re-read (GEMM operands, K/V per query tile).
_REREAD_CLASSES = frozenset({"gemm", "attention"})


def severity_of(fraction_of_run: float) -> str:
    """high ≥ 20 % of the run's kernel time at stake, medium ≥ 5 %, else low."""
    if fraction_of_run >= 0.20:
        return "high"
    if fraction_of_run >= 0.05:
        return "medium"
    return "low"


def launch_bound_finding(timeline: dict[str, Any] | None, total_s: float) -> dict[str, Any] | None:
    """The chosen run idles more than the threshold: time at stake = window − busy."""
    run = chosen_run_of(timeline)
    if not run or run.get("bubble_ratio") is None:
        return None
    ratio, limit = float(run["bubble_ratio"]), THRESHOLDS["bubble_ratio"]
    if ratio <= limit:
        return None
    idle = max(float(run.get("window_s") or 0.0) - float(run.get("gpu_busy_s") or 0.0), 0.0)
    host = run.get("host_bound_gap_s")
    return {
        "rule": "launch_bound",
        "source": "rooflens",
        "severity": severity_of(idle / max(total_s, idle) if idle else 0.0),
        "time_at_stake_s": idle,
        "stake_basis": "idle",
        "subject": run["name"],
        "count": None,
        "kernel_indices": [],
        "message": f"{run['name']}: GPU idle for {ratio:.3g} of the window"
        + (f", host-bound gaps {host:.3g} s" if host is not None else ""),
        "suggestion_key": "launch_bound",
        "suggestion": SUGGESTIONS["launch_bound"],
        "metric": "bubble_ratio",
        "value": ratio,
        "threshold": limit,
        "estimated_speedup": None,
        "also": {},
    }


def kernel_findings(k: dict[str, Any], total_s: float) -> list[dict[str, Any]]:
    """rooflens rules of this module for one kernel (``analysis.kernels`` fires the others).

    Only ``copy_cast``: a kernel mapped to ``copy`` that takes ≥ 1 % of the run.
    """
    dur = float(k.get("duration_s") or 0.0)
    if total_s <= 0 or dur / total_s < THRESHOLDS["min_kernel_share"]:
        return []
    if k.get("operator") != "copy" or any(
        f.get("rule") == "copy_cast" for f in k.get("findings") or []
    ):
        return []
    return [
        {"rule": "copy_cast", "source": "rooflens", "severity": severity_of(dur / total_s),
         "message": "copy/cast kernel that a fused kernel would avoid", "estimated_speedup": None,
         "metric": "operator", "value": "copy", "threshold": None}
    ]  # fmt: skip


def _instances(members: list[dict[str, Any]]) -> int:
    """Operator instances the kernels ran for: distinct (phase label, layer) pairs (≥ 1).

    Decode runs an operator once per step (``decode[k]``) and layer, so 15 norm kernels over 15
    steps are one kernel per instance, not a fragmented norm.
    """
    return max(1, len({(k.get("phase"), k.get("layer")) for k in members}))


def fragmented_findings(
    operators: list[dict[str, Any]], kernels: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Operators served by ≥ 3 kernels per instance that take ≥ 3× their predicted time.

    ``operators`` are the comparison rows (per operator and phase: measured/predicted time);
    ``kernels`` carry ``operator``, ``phase`` and ``layer``.  Time at stake = measured −
    attainable when the row has an attainable time (calibration), else measured − predicted.
    """
    out = []
    for o in operators:
        meas, pred = o.get("measured_time_s"), o.get("predicted_time_s")
        members = [
            k for k in kernels
            if subject_of(k) == o["name"] and canonical_phase(k.get("phase")) == o.get("phase", "prefill")
        ]  # fmt: skip
        per_instance = len(members) / _instances(members)
        if meas is None or not pred or per_instance < THRESHOLDS["fragment_kernel_count"]:
            continue
        if meas / pred < THRESHOLDS["fragment_time_ratio"]:
            continue
        phase = o.get("phase", "prefill")
        subject = o["name"] if phase == "prefill" else f"{o['name']} ({phase})"
        att = o.get("attainable_time_s")
        stake = meas - pred if att is None else max(0.0, meas - float(att))
        out.append(
            {
                "rule": "fragmented_operator", "source": "rooflens", "subject": subject,
                "operator": o["name"], "phase": phase, "kernel_class": operator_class(o["name"]),
                "count": len(members), "kernels_per_instance": per_instance,
                "kernel_indices": sorted(int(k["index"]) for k in members if k.get("index") is not None),
                "time_at_stake_s": stake, "stake_basis": "ideal" if att is None else "attainable",
                "measured_time_s": meas, "predicted_time_s": pred, "attainable_time_s": att,
                "metric": "time_ratio", "value": meas / pred,
                "threshold": THRESHOLDS["fragment_time_ratio"], "estimated_speedup": None,
                "message": f"{subject}: {len(members)} kernels ({per_instance:.3g} per instance) "
                f"take {meas:.3g} s, {meas / pred:.3g}x the predicted {pred:.3g} s",
                "also": {},
            }
        )  # fmt: skip
    return out


def _group_key(f: dict[str, Any], k: dict[str, Any]) -> tuple[str, str, str]:
    rule = f.get("rule") or "ncu"
    source = f.get("source") or "rooflens"
    return (source, _FAMILY.get(rule, rule), subject_of(k))


def _new_group(source: str, family: str, subject: str, k: dict[str, Any]) -> dict[str, Any]:
    return {
        "rule": family, "source": source, "subject": subject,
        "kernel_class": operator_class(k.get("operator"), str(k.get("name") or "")),
        "count": 0, "kernel_indices": [], "time_at_stake_s": 0.0, "metric": None,
        "value": None, "threshold": None, "estimated_speedup": None, "message": "",
        "rules": [], "also": {}, "_attainable": 0.0,
    }  # fmt: skip


def _worse(g: dict[str, Any], v: Any) -> bool:
    """Whether value ``v`` is worse than the group's: lowest for rooflens rules (all "<"),
    highest estimated speedup for NCU rules."""
    if v is None or isinstance(v, str):
        return g["value"] is None
    if g["value"] is None or isinstance(g["value"], str):
        return True
    return bool(v > g["value"]) if g["source"] == "ncu" else bool(v < g["value"])


def _add(g: dict[str, Any], f: dict[str, Any], k: dict[str, Any], shares: Shares) -> None:
    """Add kernel ``k``'s finding ``f`` to group ``g``; the worst member names the group's value.

    Both stakes are summed: on the roofline, and beyond attainable (None once one kernel has
    no calibrated row); :func:`~rooflens.analysis.stakes.settle_stake` keeps one."""
    g["count"] += 1
    g["kernel_indices"].append(k.get("index"))
    g["time_at_stake_s"] += time_at_stake(f, k)
    att = attainable_stake(f, k, shares)
    g["_attainable"] = None if att is None or g["_attainable"] is None else g["_attainable"] + att
    if f.get("rule") not in g["rules"]:
        g["rules"].append(f.get("rule"))
    ncu = g["source"] == "ncu"
    v = f.get("estimated_speedup") if ncu else f.get("value")
    if _worse(g, v):
        g["value"], g["threshold"] = v, f.get("threshold")
        g["metric"] = "estimated_speedup" if ncu else f.get("metric")
        g["message"] = f.get("message") or ""
        if ncu:  # NCU's own text, kept apart from the English one-liner rank_findings writes
            g["rule_message"] = g["message"]
        else:
            g["rule"] = f.get("rule")
    if f.get("estimated_speedup") is not None:
        g["estimated_speedup"] = max(g["estimated_speedup"] or 0.0, float(f["estimated_speedup"]))


def _level(f: dict[str, Any]) -> int | None:
    if (f.get("source") or "rooflens") == "ncu":
        return None
    return RULE_KINDS.get(f.get("rule") or "", (UNKNOWN_LEVEL, ""))[0]


def _streamed_once(operators: list[dict[str, Any]]) -> set[str]:
    """Operators whose measured DRAM bytes stay within ``reread_bytes_ratio`` of the prediction."""
    ratios: dict[str, float] = {}
    for o in operators:
        m, p = o.get("measured_bytes"), o.get("predicted_bytes")
        if m is not None and p:
            ratios[o["name"]] = max(ratios.get(o["name"], 0.0), float(m) / float(p))
    return {name for name, r in ratios.items() if r <= THRESHOLDS["reread_bytes_ratio"]}


def _l2_irrelevant(k: dict[str, Any], streamed: set[str]) -> bool:
    """A low L2 hit rate says nothing on streaming kernels or on data read no more than once."""
    return _cls(k) not in _REREAD_CLASSES or subject_of(k) in streamed


def group_findings(
    kernels: list[dict[str, Any]],
    fragmented: list[dict[str, Any]],
    operators: list[dict[str, Any]] | None = None,
) -> list[dict[str, Any]]:
    """Per-kernel findings grouped by (source, rule family, subject), lower levels folded;
    stakes beyond attainable where the comparison rows are calibrated (module docstring)."""
    streamed = _streamed_once(operators or [])
    shares = implementation_shares(operators)
    covered: dict[tuple[str, Any], tuple[int, dict[str, Any]]] = {}
    for g in fragmented:
        for i in g["kernel_indices"]:
            covered[(g["operator"], i)] = (1, g)
    groups: dict[tuple[str, str, str], dict[str, Any]] = {}
    entries = [(f, k) for k in kernels for f in k.get("findings") or []]
    for f, k in sorted(entries, key=lambda e: _level(e[0]) or 0):
        level = _level(f)
        if f.get("rule") == "low_l2_hit" and _l2_irrelevant(k, streamed):
            continue
        holder = covered.get((subject_of(k), k.get("index")))
        if level is not None and holder is not None and holder[0] < level:
            also = holder[1]["also"]
            also[f["rule"]] = also.get(f["rule"], 0) + 1
            continue
        key = _group_key(f, k)
        g = groups.setdefault(key, _new_group(key[0], key[1], key[2], k))
        _add(g, f, k, shares)
        if level is not None:
            covered.setdefault((subject_of(k), k.get("index")), (level, g))
    for g in groups.values():
        g["kernel_indices"].sort(key=lambda i: -1 if i is None else i)
        settle_stake(g)
    return list(groups.values())


def _cls(k: dict[str, Any]) -> str:
    return operator_class(k.get("operator"), str(k.get("name") or ""))


def _group_message(g: dict[str, Any]) -> str:
    """English one-liner of a group (renderers use strings.toml in the report's language)."""
    v = g["value"]
    worst = f"{v:.3g}" if isinstance(v, float) else str(v)
    return f"{g['subject']}: {g['count']} kernel(s), worst {g['metric']} {worst}: {g['message']}"


def _operator_shape(
    g: dict[str, Any], by_subject: dict[str, list[dict[str, Any]]]
) -> tuple[float | None, tuple[str, ...]]:
    """(kernels per operator instance, distinct kernel names) of the operator a group is about,
    so its advice fits what ran (a norm that ran as one fused kernel is not told to fuse
    separate add/pow/mean/rsqrt kernels).  (None, ()) when the subject is no operator.
    ``by_subject``: the kernels with an operator, grouped by :func:`subject_of` once per report."""
    members = by_subject.get(str(g.get("operator") or g.get("subject")), [])
    if not members:
        return None, ()
    names = tuple(sorted({str(k.get("name") or "") for k in members}))
    return len(members) / _instances(members), names


def rank_findings(
    timeline: dict[str, Any] | None,
    kernels: list[dict[str, Any]],
    operators: list[dict[str, Any]] | None = None,
) -> list[dict[str, Any]]:
    """Finding groups of the chosen run, highest time at stake first.

    ``kernels``: per-kernel dicts (NCU block merged with the timeline's duration and final
    operator) with their ``findings``; ``operators``: the comparison rows (for
    ``fragmented_operator``, and, when calibrated, the attainable basis of the operator-level
    stakes).  The launch-bound rule is run level and stays one entry.
    """
    total_s = float(sum(float(k.get("duration_s") or 0.0) for k in kernels))
    fragmented = fragmented_findings(operators or [], kernels)
    groups = fragmented + group_findings(kernels, fragmented, operators)
    by_subject: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for k in kernels:
        if k.get("operator"):
            by_subject[str(subject_of(k))].append(k)
    for g in groups:
        if g["rule"] != "fragmented_operator":
            g["message"] = _group_message(g)
        g["suggestion_key"] = suggestion_key(
            g["rule"], g["source"], g["kernel_class"], *_operator_shape(g, by_subject)
        )
        g["suggestion"] = SUGGESTIONS[g["suggestion_key"]]
        g["severity"] = severity_of(g["time_at_stake_s"] / total_s if total_s else 0.0)
    lb = launch_bound_finding(timeline, total_s)
    found = ([lb] if lb else []) + groups
    found.sort(key=lambda f: (-f["time_at_stake_s"], f["rule"], f["subject"] or ""))
    return found
