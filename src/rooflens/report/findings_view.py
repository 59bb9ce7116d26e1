"""Findings and the per-kernel-name summary as text: section 四's ranked groups, section 三's table.

Rooflens rule messages come from templates/strings.toml in the report's language (report.json
keeps an English message too); NCU's messages are shown as NCU wrote them.
"""

from __future__ import annotations

from collections.abc import Sequence
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
from rooflens.report_model import Bottleneck, Finding, KernelGroup, ReportDocument


def _source(f: Finding) -> str:
    """Who raised ``f``: ``ncu`` or ``rooflens`` (a finding that does not say is rooflens's)."""
    return f.source or "rooflens"


def _finding_message(f: Finding, s: dict[str, Any], fields: dict[str, str], in_block: bool) -> str:
    """A finding's message in the report's language: group template, per-kernel rule template,
    or the text NCU (or an older report) wrote."""
    if _source(f) != "rooflens":
        # NCU's own rule text, as NCU wrote it (a group keeps it in ``rule_message``).
        text = f.rule_message or f.message or ""
        return f"{fields['subject']}: {text}" if f.count and fields["subject"] else text
    rule, metric = f.rule or "", f.metric
    if f.count is not None and not in_block:
        template = s["groups"].get(rule)
    else:
        template = s["rules"].get(f"{rule}:{metric}") or s["rules"].get(rule)
        if template and in_block:
            template = template.removeprefix("{subject}: ")
    return template.format(**fields) if template else (f.message or "")


def _also_text(f: Finding, s: dict[str, Any]) -> str:
    """Rules folded into a group (``latency_bound ×10``), in the report's language; '' when none."""
    if not f.also:
        return ""
    return str(s["also"]).format(rules=", ".join(f"{r} ×{n}" for r, n in f.also.items()))


def finding_view(f: Finding, s: dict[str, Any], in_block: bool = False) -> dict[str, str]:
    """One finding (a group in section 四, a kernel's own result in 三) as text in the report's language.

    ``in_block``: shown inside its kernel's NCU block, so the message does not repeat the kernel.
    """
    metric, threshold = f.metric, f.threshold
    fields = {
        "subject": f.subject or "",
        "value": f_metric_value(metric, f.value),
        # NCU gives a sentence of advice where a threshold would be: no threshold then.
        "threshold": NA if isinstance(threshold, str) else f_metric_value(metric, threshold),
        "count": f_count(f.count),
        "measured": f_time(f.measured_time_s),
        "predicted": f_time(f.predicted_time_s),
    }
    rooflens = _source(f) == "rooflens"
    key = f.suggestion_key or (f.rule if rooflens else "ncu") or ""
    suggestion = s["suggestions"].get(key) if rooflens or key == "ncu" else None
    return {
        "rule": f.rule or NA,
        "source": _source(f),
        "severity": f.severity or NA,
        "severity_label": severity_label(f.severity, s),
        "time_at_stake": f_time(f.time_at_stake_s),
        "metric": metric or NA,
        "value": fields["value"],
        "threshold": fields["threshold"],
        "subject": fields["subject"],
        "count": fields["count"] if f.count is not None else "",
        "kernel_indices": f_indices(f.kernel_indices),
        "message": _finding_message(f, s, fields, in_block),
        "also": _also_text(f, s),
        "suggestion": suggestion or f.suggestion or s["suggestions"]["ncu"],
        "speedup": f_frac(f.estimated_speedup) if f.estimated_speedup is not None else "",
    }


def _basis(f: Finding) -> str:
    """A finding's ``stake_basis``; a report written before it existed counted the roofline."""
    return str(f.stake_basis or "ideal")


def stake_view(findings: Sequence[Finding], s: dict[str, Any]) -> dict[str, str]:
    """Header of the time-at-stake column and the note under the findings table: beyond
    attainable when an operator finding was counted on a calibration, else beyond the roofline;
    the subjects that fell back to the roofline in a calibrated report are named."""
    calibrated = any(_basis(f) == "attainable" for f in findings)
    note = str(s["stake_note_attainable" if calibrated else "stake_note_ideal"])
    fallback = [str(f.subject or "") for f in findings if _basis(f) == "ideal"]
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


def _bottleneck_text(b: Bottleneck, s: dict[str, Any]) -> str:
    """One bottleneck of a kernel name: ``far_from_roof ×3 (worst 2.35%, high)``."""
    worst = f_metric_value(b.metric, b.worst_value)
    return f"{b.rule} ×{b.count} ({worst}, {severity_label(b.severity, s)})"


def _group_row(r: KernelGroup, s: dict[str, Any]) -> dict[str, str]:
    return {
        "name": r.name or "",
        "count": f_count(r.count),
        "duration": f_time(r.duration_s),
        "operators": ", ".join(r.operators or []) or NA,
        "finding_count": f_count(r.finding_count),
        "sm_avg": f_pct(r.sm_efficiency_avg_pct),
        "sm_max": f_pct(r.sm_efficiency_max_pct),
        "sm_min": f_pct(r.sm_efficiency_min_pct),
        "sm_low": _n_of(r.sm_efficiency_low_count, r.sm_efficiency_count),
        "bw_avg": f_bw(r.bandwidth_avg_bps),
        "bw_max": f_bw(r.bandwidth_max_bps),
        "bw_min": f_bw(r.bandwidth_min_bps),
        "l2_avg": f_pct(r.l2_hit_avg_pct),
        "l2_low": _n_of(r.l2_hit_low_count, r.l2_hit_count),
        "l1_avg": f_pct(r.l1_hit_avg_pct),
        "l1_low": _n_of(r.l1_hit_low_count, r.l1_hit_count),
        "bottlenecks": "; ".join(_bottleneck_text(b, s) for b in r.bottlenecks) or s["none"],
    }


def kernel_groups_view(doc: ReportDocument, s: dict[str, Any]) -> dict[str, Any] | None:
    """Section 三's per-kernel-name table (the seed's per-kernel summary figures), formatted."""
    kg = doc.kernel_groups
    if kg is None:
        return None
    th = kg.thresholds or {}
    note = str(s["kernel_groups_note"]).format(
        sm=f_pct(th.get("sm_efficiency_low_pct")),
        l2=f_pct(th.get("l2_hit_low_pct")),
        l1=f_pct(th.get("l1_hit_low_pct")),
    )
    return {
        "rows": [_group_row(r, s) for r in kg.rows],
        "note": note,
        "sm_low_label": str(s["sm_low"]).format(sm=f_pct(th.get("sm_efficiency_low_pct"))),
    }
