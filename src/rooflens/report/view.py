"""The typed report document → the formatted figures every renderer shows (one place, so all agree).

The Markdown and HTML renderers never format a number themselves: they read the strings this
module builds from the SI values of report.json, through :mod:`rooflens.units` (3 significant
figures, a unit chosen per magnitude).  That is what makes the zh and en Markdown and the HTML
carry the same figures, and keeps raw floats out of every report.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Sequence
from functools import cache
from importlib import resources
from typing import Any

from rooflens.report.attainable_view import attainable_view
from rooflens.report.extra_view import breakdown_view, ranks_view
from rooflens.report.findings_view import finding_view, kernel_groups_view, stake_view
from rooflens.report.formats import (
    NA,
    f_bw,
    f_bytes,
    f_count,
    f_flops,
    f_frac,
    f_gap,
    f_indices,
    f_intensity,
    f_pct,
    f_rate,
    f_ratio,
    f_text,
    f_time,
)
from rooflens.report.kernel_view import (
    NCU_GROUPS_ALL,
    NCU_GROUPS_SHOWN,
    Signature,
    keep_largest,
    kernel_lines,
    ncu_lines,
    ncu_signature_groups,
    timeline_groups_view,
)
from rooflens.report_model import (
    Gpu,
    Header,
    NcuKernel,
    PhaseFigures,
    Phases,
    Record,
    ReportDocument,
    RunFigures,
    Tool,
    UnmatchedKernel,
    as_document,
)

__all__ = ["build_view", "f_frac", "f_intensity", "f_rate", "f_time", "strings"]
# Finding groups shown in Markdown / HTML; the rest stay in report.json.
FINDINGS_SHOWN = 12


@cache
def strings(lang: str) -> dict[str, Any]:
    """Labels and line formats for ``lang`` (zh | en) from templates/strings.toml."""
    text = resources.files("rooflens.report").joinpath("templates/strings.toml").read_text("utf-8")
    table = tomllib.loads(text)
    if lang not in table:
        raise ValueError(f"unknown report language {lang!r} (known: {', '.join(sorted(table))})")
    return dict(table[lang])


def f_bound(x: Any, s: dict[str, Any]) -> str:
    """A bound (memory / compute / latency) in the report's language."""
    return NA if not x else str(s["bounds"].get(str(x), x))


def translate_note(note: str, s: dict[str, Any]) -> str:
    """A note report.json keeps in English (prediction notes, timeline warnings), in the
    report's language: the first ``note_patterns`` entry whose regex matches gives the text."""
    for p in s.get("note_patterns") or []:
        m = re.match(p["pattern"], note)
        if m:
            return str(p["text"]).format(*m.groups())
    # A note no pattern knows (a reader's damage warning, say) is shown as written, marked so.
    return str(s.get("untranslated_note", "{note}")).format(note=note)


def _translate_warning(text: str | None, s: dict[str, Any]) -> str | None:
    """A "; "-joined warning line, each part translated."""
    if not text:
        return None
    return "; ".join(translate_note(part, s) for part in text.split("; "))


def header_view(doc: ReportDocument, s: dict[str, Any]) -> dict[str, Any]:
    h, gpu, tool = doc.header or Header(), doc.gpu or Gpu(), doc.tool or Tool()
    return {
        "generated_at": doc.generated_at or NA,
        "gpu": gpu.detected_name or gpu.spec_key or NA,
        "detected_gpu": gpu.detected_name or NA,
        "spec_key": gpu.spec_key or NA,
        "mismatch": _translate_warning(gpu.mismatch_warning, s),
        "model": h.model or NA,
        "batch_size": NA if h.batch_size is None else h.batch_size,
        "input_len": NA if h.input_len is None else h.input_len,
        "output_len": NA if h.output_len is None else h.output_len,
        "precision": h.precision or NA,
        "precision_label": h.precision_label or h.precision or NA,
        "layers": s["all_layers"] if h.layers is None else h.layers,
        "attention": h.attention or NA,
        "tool_version": f"{tool.name} {tool.version or ''}".strip(),
        "capture_command": h.capture_command,
        "notes": [translate_note(str(n), s) for n in h.notes or []],
        "peak_flops": f_rate(gpu.peak_flops),
        "bandwidth": f_bw(gpu.bandwidth_bps),
        "ridge": f_intensity(gpu.peak_flops / gpu.bandwidth_bps)
        if gpu.peak_flops and gpu.bandwidth_bps
        else NA,
    }


Spec = dict[str, tuple[str, Any]]


def apply_spec(row: Record | None, spec: Spec) -> dict[str, str]:
    """``{shown name: formatter(row.<field>)}`` for each entry of a field table (all ``n/a``
    without a row)."""
    return {name: fmt(getattr(row, key, None)) for name, (key, fmt) in spec.items()}


def _given(row: Record | None, key: str) -> str:
    """A field as text, ``n/a`` when the JSON object had no such key (``None`` when it was null)."""
    return str(getattr(row, key)) if row is not None and row.has(key) else NA


# Field tables: shown name → (typed field = report.json key, formatter).  One row per figure.
PHASE_FIELDS: Spec = {
    "intensity": ("intensity", f_intensity),
    "bound": ("bound", f_text),
    "performance": ("performance_flops", f_rate),
    "time": ("time_s", f_time),
    "bytes": ("bytes", f_bytes),
    "flops": ("flops", f_flops),
}
RUN_FIELDS: Spec = {
    "name": ("name", f_text),
    "range_duration": ("range_duration_s", f_time),
    "kernel_count": ("kernel_count", f_count),
    "kernel_time": ("kernel_time_s", f_time),
    "gpu_busy": ("gpu_busy_s", f_time),
    "window": ("window_s", f_time),
    "bubble": ("bubble_ratio", f_frac),
    "inter_bubble": ("inter_kernel_bubble_ratio", f_frac),
    "host_gaps": ("host_bound_gap_s", f_time),
    "other_gaps": ("other_gap_s", f_time),
}
NCU_FIELDS: Spec = {
    "duration": ("duration_s", f_time),
    "ncu_duration": ("ncu_duration_s", f_time),
    "sm_throughput": ("sm_throughput_pct", f_pct),
    "memory_throughput": ("memory_throughput_pct", f_pct),
    "dram_throughput": ("dram_throughput_pct", f_pct),
    "bandwidth": ("dram_bandwidth_bps", f_bw),
    "compute": ("achieved_flops_per_s", f_rate),
    "intensity": ("intensity", f_intensity),
    "l1_hit": ("l1_hit_pct", f_pct),
    "l2_hit": ("l2_hit_pct", f_pct),
    "registers": ("registers_per_thread", f_count),
    "bound": ("bound", f_text),
    "roof_fraction": ("roof_fraction", f_frac),
    "operator": ("operator", f_text),
}
OPERATOR_FIELDS: Spec = {
    "name": ("name", f_text),
    "phase": ("phase", f_text),
    "pred_flops": ("predicted_flops", f_flops),
    "pred_bytes": ("predicted_bytes", f_bytes),
    "pred_time": ("predicted_time_s", f_time),
    "pred_bound": ("predicted_bound", f_text),
    "meas_time": ("measured_time_s", f_time),
    "meas_flops": ("measured_flops", f_flops),
    "meas_bytes": ("measured_bytes", f_bytes),
    "kernel_count": ("kernel_count", f_count),
    "roof_fraction": ("roof_fraction", f_frac),
    "ratio": ("ratio", f_ratio),
}
TOTAL_FIELDS: Spec = {
    "performance_gap": ("performance_gap", f_gap),
    "intensity_gap": ("intensity_gap", f_gap),
    "predicted_time": ("predicted_time_s", f_time),
    "measured_time": ("measured_time_s", f_time),
    "run_time": ("run_time_s", f_time),
    "run_gap": ("run_performance_gap", f_gap),
}


def _phase(p: PhaseFigures | None, s: dict[str, Any]) -> dict[str, str]:
    view = apply_spec(p, PHASE_FIELDS)
    view["bound"] = f_bound(p.bound if p else None, s)
    return view


def prediction_view(doc: ReportDocument, s: dict[str, Any]) -> dict[str, Any] | None:
    pred = doc.prediction
    if pred is None:
        return None
    phases = pred.phases or Phases()
    total = phases.decode_total
    decode: dict[str, Any] = _phase(phases.decode_first_token, s)
    # n output tokens run n − 1 decode steps: none at n = 1 (the prefill makes the only token).
    output_len = doc.header.output_len if doc.header else None
    steps = total.steps if total else None
    decode["none"] = output_len == 1 if output_len is not None else steps == 0
    decode.update(
        total_time=f_time(total.time_s if total else None),
        total_bytes=f_bytes(total.bytes if total else None),
        steps=_given(total, "steps"),
        output_len=_given(doc.header, "output_len"),
    )
    return {
        "prefill": _phase(phases.prefill, s),
        "decode": decode,
        "overall": _phase(phases.overall, s),
    }


def scope_text(doc: ReportDocument, s: dict[str, Any]) -> str:
    """The comparison scope in the report's language (report.json keeps an English note)."""
    scope = doc.comparison.scope if doc.comparison else None
    if scope is None:
        return NA
    return str(s["scope_note"]).format(
        phases=", ".join(scope.phases or [])
        + (
            " (" + str(s["scope_decode_steps"]).format(steps=scope.decode_steps) + ")"
            if scope.decode_steps
            else ""
        ),
        layers=_given(scope, "layer_count"),
        total=_given(scope, "predicted_layer_count"),
    )


def measured_view(doc: ReportDocument, s: dict[str, Any]) -> dict[str, Any] | None:
    m = doc.measured
    tot = doc.comparison.total if doc.comparison else None
    if m is None and tot is None:
        return None
    agrees = tot.bound_agrees if tot else None
    return {
        "has_ncu": m is not None,
        "sm_efficiency": f_pct(m.sm_efficiency_pct if m else None),
        "bandwidth": f_bw(m.achieved_bandwidth_bps if m else None),
        "intensity": f_intensity(m.intensity if m else None),
        "compute": f_rate(m.achieved_flops_per_s if m else None),
        "bound": f_bound(m.bound if m else None, s),
        "compute_util": f_frac(m.compute_utilization if m else None),
        "memory_util": f_frac(m.memory_utilization if m else None),
        **apply_spec(tot, TOTAL_FIELDS),
        "bound_match": NA if agrees is None else (s["match"] if agrees else s["mismatch_word"]),
        "scope": scope_text(doc, s),
    }


def _run_row(r: RunFigures | None) -> dict[str, Any]:
    return apply_spec(r, RUN_FIELDS)


# Runs the Markdown and HTML tables show at most (the first and the last ones).
RUNS_SHOWN = 24


def timeline_view(
    doc: ReportDocument, s: dict[str, Any], detail: bool = False
) -> dict[str, Any] | None:
    """Section 二; ``detail``: also every kernel on its own (the HTML's collapsed list)."""
    tl = doc.timeline
    if tl is None:
        return None
    runs, kernels = tl.runs, tl.kernels
    shown = (
        runs if len(runs) <= RUNS_SHOWN else [*runs[: RUNS_SHOWN // 2], *runs[-RUNS_SHOWN // 2 :]]
    )
    source = tl.source or NA
    groups = timeline_groups_view(kernels, s)
    return {
        "source": str(s["source_names"].get(source, source)),
        "chosen": _run_row(tl.chosen),
        "runs": [_run_row(r) for r in shown],
        "runs_more": len(runs) - len(shown),
        "kernel_count": len(kernels),
        "kernel_lines": kernel_lines(kernels, groups["keys"], s) if detail else "",
        "groups": groups,
    }


def ncu_view(doc: ReportDocument, s: dict[str, Any], detail: bool = False) -> dict[str, Any] | None:
    """Section 三: one block per NCU kernel signature (a lone kernel is its own signature).
    Markdown shows all of them up to ``NCU_GROUPS_ALL``, else the ``NCU_GROUPS_SHOWN`` with the
    most time; ``detail``: every signature and every kernel's figures too (the HTML)."""
    kernels = doc.kernels
    if kernels is None:
        return None
    groups = ncu_signature_groups(doc)
    limit = len(groups) if len(groups) <= NCU_GROUPS_ALL else NCU_GROUPS_SHOWN
    shown, rest = keep_largest(groups, limit)
    total_s = sum(g.duration_s for g in groups) or 1.0
    return {
        "blocks": [_signature_block(g, s) for g in shown],
        "all_blocks": [_signature_block(g, s) for g in groups] if detail else [],
        "kernel_count": len(kernels),
        "kernel_lines": ncu_lines(doc, s) if detail else "",
        "note": str(s["ncu_grouped_note"]).format(kernels=len(kernels), groups=len(groups))
        if len(groups) < len(kernels)
        else "",
        "more": str(s["ncu_more"]).format(
            more=len(rest), total=len(groups),
            share=f_frac(sum(g.duration_s for g in rest) / total_s),
        )
        if rest
        else "",
    }  # fmt: skip


def _signature_block(g: Signature, s: dict[str, Any]) -> dict[str, Any]:
    """One signature's block: its first kernel's figures, and a line for the others."""
    block = kernel_block_view(g.members[0], s, g.numbers[0])
    block["group_line"] = (
        str(s["ncu_group_line"]).format(
            count=len(g.members), total=f_time(g.duration_s),
            indices=f_indices([n - 1 for n in g.numbers]), rep=g.numbers[0],
        )
        if len(g.members) > 1
        else ""
    )  # fmt: skip
    return block


def kernel_block_view(k: NcuKernel, s: dict[str, Any], num: int | None = None) -> dict[str, Any]:
    view: dict[str, Any] = apply_spec(k, NCU_FIELDS)
    view.update(
        number=num,
        bound=f_bound(k.bound, s),
        name=k.name or "",
        short_name=k.short_name or k.name or "",
        occupancy=f"{f_pct(k.achieved_occupancy_pct)} / {f_pct(k.theoretical_occupancy_pct)}",
        findings=[finding_view(f, s, in_block=True) for f in k.findings],
    )
    return view


def unmatched_view(unmatched: Sequence[UnmatchedKernel]) -> list[dict[str, str]]:
    """Unmatched kernels, one row per (short name, operator): count, Σ duration, which kernels
    (a decode capture repeats the same few kernels every step); the most time first."""
    groups: dict[tuple[str, str], list[UnmatchedKernel]] = {}
    for u in unmatched:
        key = (u.short_name or "", u.operator or NA)
        groups.setdefault(key, []).append(u)

    def total(us: list[UnmatchedKernel]) -> float:
        return sum(float(u.duration_s or 0.0) for u in us)

    ranked = sorted(groups.items(), key=lambda item: -total(item[1]))
    return [
        {
            "index": f_indices([u.index for u in us]) or NA,
            "short_name": name,
            "operator": op,
            "count": str(len(us)),
            "duration": f_time(total(us)),
        }
        for (name, op), us in ranked
    ]


def comparison_view(doc: ReportDocument, s: dict[str, Any]) -> dict[str, Any] | None:
    comp = doc.comparison
    if comp is None:
        return None
    rows = [
        {**apply_spec(o, OPERATOR_FIELDS), "pred_bound": f_bound(o.predicted_bound, s)}
        for o in comp.operators
    ]
    tot = comp.total
    findings = comp.findings
    return {
        "scope": scope_text(doc, s),
        "rows": rows,
        "total_pred_time": f_time(tot.predicted_time_s if tot else None),
        "total_meas_time": f_time(tot.measured_time_s if tot else None),
        "total_matched_time": f_time(tot.matched_measured_time_s if tot else None),
        "performance_gap": f_gap(tot.performance_gap if tot else None),
        "unmatched": unmatched_view(comp.unmatched_kernels),
        "notes": [
            str(s["tensor_padding_note"]).format(
                operator=n.operator, phase=n.phase, ratio=f_ratio(n.flops_ratio)
            )
            for n in comp.notes
            if n.kind == "tensor_padding"
        ],
        "findings": [finding_view(f, s) for f in findings[:FINDINGS_SHOWN]],
        "findings_total": len(findings),
        "findings_more": max(0, len(findings) - FINDINGS_SHOWN),
        **stake_view(findings, s),
    }


def build_view(
    doc: ReportDocument | dict[str, Any], lang: str, detail: bool = False
) -> dict[str, Any]:
    """Everything a renderer shows, formatted, plus the language's strings under ``s``;
    ``detail``: every kernel on its own as well (the HTML's collapsed lists)."""
    doc = as_document(doc)
    s = strings(lang)
    return {
        "lang": lang,
        "s": s,
        "header": header_view(doc, s),
        "prediction": prediction_view(doc, s),
        "measured": measured_view(doc, s),
        "timeline": timeline_view(doc, s, detail),
        "ncu": ncu_view(doc, s, detail),
        "comparison": comparison_view(doc, s),
        "attainable": attainable_view(doc, s),
        "kernel_groups": kernel_groups_view(doc, s),
        "breakdown": breakdown_view(doc, s),
        "ranks": ranks_view(doc, s),
    }
