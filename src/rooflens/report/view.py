"""report.json → the formatted figures every renderer shows (one place, so all agree).

The Markdown and HTML renderers never format a number themselves: they read the strings this
module builds from the SI values of report.json, through :mod:`rooflens.units` (3 significant
figures, a unit chosen per magnitude).  That is what makes the zh and en Markdown and the HTML
carry the same figures, and keeps raw floats out of every report.
"""

from __future__ import annotations

import re
import tomllib
from functools import cache
from importlib import resources
from typing import Any

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
    NCU_GROUPS_SHOWN,
    keep_largest,
    kernel_lines,
    ncu_lines,
    ncu_signature_groups,
    timeline_groups_view,
)
from rooflens.report_model import ReportDocument

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


def header_view(doc: dict[str, Any], s: dict[str, Any]) -> dict[str, Any]:
    h, gpu = doc.get("header") or {}, doc.get("gpu") or {}
    layers = h.get("layers")
    return {
        "generated_at": doc.get("generated_at") or NA,
        "gpu": gpu.get("detected_name") or gpu.get("spec_key") or NA,
        "detected_gpu": gpu.get("detected_name") or NA,
        "spec_key": gpu.get("spec_key") or NA,
        "mismatch": _translate_warning(gpu.get("mismatch_warning"), s),
        "model": h.get("model") or NA,
        "batch_size": NA if h.get("batch_size") is None else h["batch_size"],
        "input_len": NA if h.get("input_len") is None else h["input_len"],
        "output_len": NA if h.get("output_len") is None else h["output_len"],
        "precision": h.get("precision") or NA,
        "precision_label": h.get("precision_label") or h.get("precision") or NA,
        "layers": s["all_layers"] if layers is None else layers,
        "attention": h.get("attention") or NA,
        "tool_version": f"{(doc.get('tool') or {}).get('name', 'rooflens')} {(doc.get('tool') or {}).get('version') or ''}".strip(),
        "capture_command": h.get("capture_command"),
        "notes": [translate_note(str(n), s) for n in h.get("notes") or []],
        "peak_flops": f_rate(gpu.get("peak_flops")),
        "bandwidth": f_bw(gpu.get("bandwidth_bps")),
        "ridge": f_intensity(gpu["peak_flops"] / gpu["bandwidth_bps"])
        if gpu.get("peak_flops") and gpu.get("bandwidth_bps")
        else NA,
    }


Spec = dict[str, tuple[str, Any]]


def apply_spec(d: dict[str, Any], spec: Spec) -> dict[str, str]:
    """``{shown name: formatter(d[json key])}`` for each entry of a field table."""
    return {name: fmt(d.get(key)) for name, (key, fmt) in spec.items()}


# Field tables: shown name → (report.json key, formatter).  One row per figure a renderer shows.
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


def _phase(p: dict[str, Any] | None, s: dict[str, Any]) -> dict[str, str]:
    view = apply_spec(p or {}, PHASE_FIELDS)
    view["bound"] = f_bound((p or {}).get("bound"), s)
    return view


def prediction_view(doc: dict[str, Any], s: dict[str, Any]) -> dict[str, Any] | None:
    pred = doc.get("prediction")
    if not pred:
        return None
    phases = pred.get("phases") or {}
    total = phases.get("decode_total") or {}
    decode: dict[str, Any] = _phase(phases.get("decode_first_token"), s)
    # n output tokens run n − 1 decode steps: none at n = 1 (the prefill makes the only token).
    output_len = (doc.get("header") or {}).get("output_len")
    decode["none"] = output_len == 1 if output_len is not None else total.get("steps") == 0
    decode.update(
        total_time=f_time(total.get("time_s")),
        total_bytes=f_bytes(total.get("bytes")),
        steps=str(total.get("steps", NA)),
        output_len=str((doc.get("header") or {}).get("output_len", NA)),
    )
    return {
        "prefill": _phase(phases.get("prefill"), s),
        "decode": decode,
        "overall": _phase(phases.get("overall"), s),
    }


def scope_text(doc: dict[str, Any], s: dict[str, Any]) -> str:
    """The comparison scope in the report's language (report.json keeps an English note)."""
    scope = (doc.get("comparison") or {}).get("scope")
    if not scope:
        return NA
    return str(s["scope_note"]).format(
        phases=", ".join(scope.get("phases") or [])
        + (
            " (" + str(s["scope_decode_steps"]).format(steps=scope["decode_steps"]) + ")"
            if scope.get("decode_steps")
            else ""
        ),
        layers=scope.get("layer_count", NA),
        total=scope.get("predicted_layer_count", NA),
    )


def measured_view(doc: dict[str, Any], s: dict[str, Any]) -> dict[str, Any] | None:
    m = doc.get("measured")
    comp = doc.get("comparison") or {}
    tot = comp.get("total") or {}
    if not m and not tot:
        return None
    m = m or {}
    agrees = tot.get("bound_agrees")
    return {
        "has_ncu": bool(doc.get("measured")),
        "sm_efficiency": f_pct(m.get("sm_efficiency_pct")),
        "bandwidth": f_bw(m.get("achieved_bandwidth_bps")),
        "intensity": f_intensity(m.get("intensity")),
        "compute": f_rate(m.get("achieved_flops_per_s")),
        "bound": f_bound(m.get("bound"), s),
        "compute_util": f_frac(m.get("compute_utilization")),
        "memory_util": f_frac(m.get("memory_utilization")),
        "performance_gap": f_gap(tot.get("performance_gap")),
        "intensity_gap": f_gap(tot.get("intensity_gap")),
        "bound_match": NA if agrees is None else (s["match"] if agrees else s["mismatch_word"]),
        "scope": scope_text(doc, s),
        "predicted_time": f_time(tot.get("predicted_time_s")),
        "measured_time": f_time(tot.get("measured_time_s")),
        "run_time": f_time(tot.get("run_time_s")),
        "run_gap": f_gap(tot.get("run_performance_gap")),
    }


def _run_row(r: dict[str, Any]) -> dict[str, Any]:
    return apply_spec(r, RUN_FIELDS)


# Runs the Markdown and HTML tables show at most (the first and the last ones).
RUNS_SHOWN = 24


def timeline_view(
    doc: dict[str, Any], s: dict[str, Any], detail: bool = False
) -> dict[str, Any] | None:
    """Section 二; ``detail``: also every kernel on its own (the HTML's collapsed list)."""
    tl = doc.get("timeline")
    if not tl:
        return None
    runs = tl.get("runs") or []
    chosen = next(
        (r for r in runs if r.get("name") == tl.get("chosen_run")), runs[-1] if runs else {}
    )
    kernels = tl.get("kernels") or []
    shown = (
        runs if len(runs) <= RUNS_SHOWN else [*runs[: RUNS_SHOWN // 2], *runs[-RUNS_SHOWN // 2 :]]
    )
    source = tl.get("source") or NA
    groups = timeline_groups_view(kernels, s)
    return {
        "source": str(s["source_names"].get(source, source)),
        "chosen": _run_row(chosen),
        "runs": [_run_row(r) for r in shown],
        "runs_more": len(runs) - len(shown),
        "kernel_count": len(kernels),
        "kernel_lines": kernel_lines(kernels, groups["keys"], s) if detail else "",
        "groups": groups,
    }


def ncu_view(doc: dict[str, Any], s: dict[str, Any], detail: bool = False) -> dict[str, Any] | None:
    """Section 三: one block per NCU kernel signature (a lone kernel is its own signature),
    the ``NCU_GROUPS_SHOWN`` with the most time in Markdown; ``detail``: every signature and
    every kernel's figures too (the HTML)."""
    kernels = doc.get("kernels")
    if kernels is None:
        return None
    groups = ncu_signature_groups(doc)
    shown, rest = keep_largest(groups, NCU_GROUPS_SHOWN)
    total_s = sum(g["duration_s"] for g in groups) or 1.0
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
            share=f_frac(sum(g["duration_s"] for g in rest) / total_s),
        )
        if rest
        else "",
    }  # fmt: skip


def _signature_block(g: dict[str, Any], s: dict[str, Any]) -> dict[str, Any]:
    """One signature's block: its first kernel's figures, and a line for the others."""
    block = kernel_block_view(g["members"][0], s, g["numbers"][0])
    block["group_line"] = (
        str(s["ncu_group_line"]).format(
            count=len(g["members"]), total=f_time(g["duration_s"]),
            indices=f_indices([n - 1 for n in g["numbers"]]), rep=g["numbers"][0],
        )
        if len(g["members"]) > 1
        else ""
    )  # fmt: skip
    return block


def kernel_block_view(
    k: dict[str, Any], s: dict[str, Any], num: int | None = None
) -> dict[str, Any]:
    view: dict[str, Any] = apply_spec(k, NCU_FIELDS)
    view.update(
        number=num,
        bound=f_bound(k.get("bound"), s),
        name=k.get("name") or "",
        short_name=k.get("short_name") or k.get("name") or "",
        occupancy=f"{f_pct(k.get('achieved_occupancy_pct'))} / {f_pct(k.get('theoretical_occupancy_pct'))}",
        findings=[finding_view(f, s, in_block=True) for f in k.get("findings") or []],
    )
    return view


def unmatched_view(unmatched: list[dict[str, Any]]) -> list[dict[str, str]]:
    """Unmatched kernels, one row per (short name, operator): count, Σ duration, which kernels
    (a decode capture repeats the same few kernels every step); the most time first."""
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for u in unmatched:
        key = (u.get("short_name") or "", u.get("operator") or NA)
        groups.setdefault(key, []).append(u)

    def total(us: list[dict[str, Any]]) -> float:
        return sum(float(u.get("duration_s") or 0.0) for u in us)

    ranked = sorted(groups.items(), key=lambda item: -total(item[1]))
    return [
        {
            "index": f_indices([u.get("index") for u in us]) or NA,
            "short_name": name,
            "operator": op,
            "count": str(len(us)),
            "duration": f_time(total(us)),
        }
        for (name, op), us in ranked
    ]


def comparison_view(doc: dict[str, Any], s: dict[str, Any]) -> dict[str, Any] | None:
    comp = doc.get("comparison")
    if not comp:
        return None
    rows = [
        {**apply_spec(o, OPERATOR_FIELDS), "pred_bound": f_bound(o.get("predicted_bound"), s)}
        for o in comp.get("operators") or []
    ]
    tot = comp.get("total") or {}
    findings = comp.get("findings") or []
    return {
        "scope": scope_text(doc, s),
        "rows": rows,
        "total_pred_time": f_time(tot.get("predicted_time_s")),
        "total_meas_time": f_time(tot.get("measured_time_s")),
        "total_matched_time": f_time(tot.get("matched_measured_time_s")),
        "performance_gap": f_gap(tot.get("performance_gap")),
        "unmatched": unmatched_view(comp.get("unmatched_kernels") or []),
        "notes": [
            str(s["tensor_padding_note"]).format(
                operator=n.get("operator"),
                phase=n.get("phase"),
                ratio=f_ratio(n.get("flops_ratio")),
            )
            for n in comp.get("notes") or []
            if n.get("kind") == "tensor_padding"
        ],
        "findings": [finding_view(f, s) for f in findings[:FINDINGS_SHOWN]],
        "findings_total": len(findings),
        "findings_more": max(0, len(findings) - FINDINGS_SHOWN),
        **stake_view(findings, s),
    }


def attainable_view(doc: dict[str, Any], s: dict[str, Any]) -> dict[str, Any] | None:
    """Ideal / attainable / measured (report/attainable_view.py, issue 10)."""
    from rooflens.report.attainable_view import attainable_view as view

    return view(doc, s)


def build_view(
    doc: ReportDocument | dict[str, Any], lang: str, detail: bool = False
) -> dict[str, Any]:
    """Everything a renderer shows, formatted, plus the language's strings under ``s``;
    ``detail``: every kernel on its own as well (the HTML's collapsed lists)."""
    doc = doc.to_dict() if isinstance(doc, ReportDocument) else doc
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
