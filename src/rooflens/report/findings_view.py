"""Findings and the per-kernel-name summary as text: section 四's ranked groups, section 三's table.

Rooflens rule messages come from templates/strings.toml in the report's language (report.json
keeps an English message too); NCU's messages are shown as NCU wrote them.
"""

from __future__ import annotations

from typing import Any

from rooflens.report.formats import (
    NA,
    f_bw,
    f_count,
    f_frac,
    f_indices,
    f_metric_value,
    f_pct,
    f_time,
)


def _finding_message(
    f: dict[str, Any], s: dict[str, Any], fields: dict[str, str], in_block: bool
) -> str:
    """A finding's message in the report's language: group template, per-kernel rule template,
    or the text NCU (or an older report) wrote."""
    if f.get("source", "rooflens") != "rooflens":
        # NCU's own rule text, as NCU wrote it (a group keeps it in ``rule_message``).
        text = f.get("rule_message") or f.get("message") or ""
        return f"{fields['subject']}: {text}" if f.get("count") and fields["subject"] else text
    rule, metric = f.get("rule") or "", f.get("metric")
    if f.get("count") is not None and not in_block:
        template = s["groups"].get(rule)
    else:
        template = s["rules"].get(f"{rule}:{metric}") or s["rules"].get(rule)
        if template and in_block:
            template = template.removeprefix("{subject}: ")
    return template.format(**fields) if template else (f.get("message") or "")


def _also_text(f: dict[str, Any], s: dict[str, Any]) -> str:
    """Rules folded into a group (``latency_bound ×10``), in the report's language; '' when none."""
    also = f.get("also") or {}
    if not also:
        return ""
    return str(s["also"]).format(rules=", ".join(f"{r} ×{n}" for r, n in also.items()))


def finding_view(f: dict[str, Any], s: dict[str, Any], in_block: bool = False) -> dict[str, str]:
    """One finding (a group in section 四, a kernel's own result in 三) as text in the report's language.

    ``in_block``: shown inside its kernel's NCU block, so the message does not repeat the kernel.
    """
    metric = f.get("metric")
    threshold = f.get("threshold")
    fields = {
        "subject": f.get("subject") or "",
        "value": f_metric_value(metric, f.get("value")),
        # NCU gives a sentence of advice where a threshold would be: no threshold then.
        "threshold": NA if isinstance(threshold, str) else f_metric_value(metric, threshold),
        "count": f_count(f.get("count")),
        "measured": f_time(f.get("measured_time_s")),
        "predicted": f_time(f.get("predicted_time_s")),
    }
    rooflens = f.get("source", "rooflens") == "rooflens"
    key = f.get("suggestion_key") or (f.get("rule") if rooflens else "ncu") or ""
    suggestion = s["suggestions"].get(key) if rooflens or key == "ncu" else None
    return {
        "rule": f.get("rule") or NA,
        "source": f.get("source") or "rooflens",
        "severity": f.get("severity") or NA,
        "severity_label": severity_label(f.get("severity"), s),
        "time_at_stake": f_time(f.get("time_at_stake_s")),
        "metric": metric or NA,
        "value": fields["value"],
        "threshold": fields["threshold"],
        "subject": fields["subject"],
        "count": fields["count"] if f.get("count") is not None else "",
        "kernel_indices": f_indices(f.get("kernel_indices")),
        "message": _finding_message(f, s, fields, in_block),
        "also": _also_text(f, s),
        "suggestion": suggestion or f.get("suggestion") or s["suggestions"]["ncu"],
        "speedup": f_frac(f.get("estimated_speedup"))
        if f.get("estimated_speedup") is not None
        else "",
    }


def _basis(f: dict[str, Any]) -> str:
    """A finding's ``stake_basis``; a report written before it existed counted the roofline."""
    return str(f.get("stake_basis") or "ideal")


def stake_view(findings: list[dict[str, Any]], s: dict[str, Any]) -> dict[str, str]:
    """Header of the time-at-stake column and the note under the findings table: beyond
    attainable when an operator finding was counted on a calibration, else beyond the roofline;
    the subjects that fell back to the roofline in a calibrated report are named."""
    calibrated = any(_basis(f) == "attainable" for f in findings)
    note = str(s["stake_note_attainable" if calibrated else "stake_note_ideal"])
    fallback = [str(f.get("subject") or "") for f in findings if _basis(f) == "ideal"]
    if calibrated and fallback:
        note += " " + str(s["stake_note_fallback"]).format(subjects=", ".join(fallback))
    header = s["time_at_stake_attainable" if calibrated else "time_at_stake_ideal"]
    return {"stake_header": str(header), "stake_note": note}


def _n_of(low: Any, count: Any) -> str:
    """``low / total`` (the seed's "低于50%数量: 1 / 1"), n/a without the figure."""
    return NA if not count else f"{int(low or 0)} / {int(count)}"


def severity_label(severity: Any, s: dict[str, Any]) -> str:
    """high / medium / low in the report's language."""
    return NA if not severity else str(s["severities"].get(str(severity), severity))


def _bottleneck_text(b: dict[str, Any], s: dict[str, Any]) -> str:
    """One bottleneck of a kernel name: ``far_from_roof ×3 (worst 2.35%, high)``."""
    worst = f_metric_value(b.get("metric"), b.get("worst_value"))
    return f"{b.get('rule')} ×{b.get('count')} ({worst}, {severity_label(b.get('severity'), s)})"


def kernel_groups_view(doc: dict[str, Any], s: dict[str, Any]) -> dict[str, Any] | None:
    """Section 三's per-kernel-name table (the seed's per-kernel summary figures), formatted."""
    kg = doc.get("kernel_groups")
    if not kg:
        return None
    th = kg.get("thresholds") or {}
    rows = [
        {
            "name": r.get("name") or "",
            "count": f_count(r.get("count")),
            "duration": f_time(r.get("duration_s")),
            "operators": ", ".join(r.get("operators") or []) or NA,
            "finding_count": f_count(r.get("finding_count")),
            "sm_avg": f_pct(r.get("sm_efficiency_avg_pct")),
            "sm_max": f_pct(r.get("sm_efficiency_max_pct")),
            "sm_min": f_pct(r.get("sm_efficiency_min_pct")),
            "sm_low": _n_of(r.get("sm_efficiency_low_count"), r.get("sm_efficiency_count")),
            "bw_avg": f_bw(r.get("bandwidth_avg_bps")),
            "bw_max": f_bw(r.get("bandwidth_max_bps")),
            "bw_min": f_bw(r.get("bandwidth_min_bps")),
            "l2_avg": f_pct(r.get("l2_hit_avg_pct")),
            "l2_low": _n_of(r.get("l2_hit_low_count"), r.get("l2_hit_count")),
            "l1_avg": f_pct(r.get("l1_hit_avg_pct")),
            "l1_low": _n_of(r.get("l1_hit_low_count"), r.get("l1_hit_count")),
            "bottlenecks": "; ".join(_bottleneck_text(b, s) for b in r.get("bottlenecks") or [])
            or s["none"],
        }
        for r in kg.get("rows") or []
    ]
    note = str(s["kernel_groups_note"]).format(
        sm=f_pct(th.get("sm_efficiency_low_pct")),
        l2=f_pct(th.get("l2_hit_low_pct")),
        l1=f_pct(th.get("l1_hit_low_pct")),
    )
    return {
        "rows": rows,
        "note": note,
        "sm_low_label": str(s["sm_low"]).format(sm=f_pct(th.get("sm_efficiency_low_pct"))),
    }
