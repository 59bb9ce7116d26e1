"""Build the report document: the analysed parts + comparison + findings + metadata, self-checked.

This is the last analysis step before rendering; it combines the plain dicts that earlier
stages produced (prediction, timeline, NCU kernels, run-level measurement), adds what needs
all of them (the per-operator comparison and the ranked findings), self-checks the whole and
returns it typed (:class:`rooflens.report_model.ReportDocument`) for the renderers.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from rooflens import __version__
from rooflens.analysis.breakdown import breakdown
from rooflens.analysis.compare import compare, timeline_key
from rooflens.analysis.findings import kernel_findings, rank_findings
from rooflens.analysis.summary import summarize_kernel_names
from rooflens.report.document import self_check
from rooflens.report_model import KernelGroups, ReportDocument
from rooflens.schema import SCHEMA_VERSION


def _kernel_rows_for_findings(
    timeline: dict[str, Any] | None,
    kernels: list[dict[str, Any]] | None,
    comparison: dict[str, Any],
) -> list[dict[str, Any]]:
    """Per-kernel dicts for the rules: NCU fields where present, nsys duration, final operator."""
    ops = {o["index"]: o["operator"] for o in comparison.get("kernel_operators") or []}
    ncu = {timeline_key(k): k for k in kernels or []} if timeline else {}
    base = (timeline or {}).get("kernels") or kernels or []
    rows = []
    for k in base:
        row = dict(ncu.get(k.get("index"), {})) if timeline else dict(k)
        row.update(
            {
                key: k[key]
                for key in ("index", "name", "short_name", "duration_s", "phase", "layer")
                if key in k
            }
        )
        row["operator"] = ops.get(k.get("index")) or row.get("operator") or k.get("operator")
        rows.append(row)
    return rows


def _attach_kernel_findings(
    kernels: list[dict[str, Any]] | None, rows: list[dict[str, Any]]
) -> None:
    """Add rooflens rule results to each NCU kernel's own findings list (section 三), once."""
    if not kernels:
        return
    total_s = float(sum(float(r.get("duration_s") or 0.0) for r in rows))
    by_index = {r.get("index"): r for r in rows}
    for k in kernels:
        row = by_index.get(timeline_key(k)) if timeline_key(k) is not None else None
        if row is not None and k.get("operator") in (None, "other"):
            k["operator"] = row.get("operator")
        merged = {**k, "duration_s": (row or k).get("duration_s"), "operator": k.get("operator")}
        k["findings"] = list(k.get("findings") or []) + kernel_findings(merged, total_s)


def build_report(
    header: dict[str, Any],
    gpu: dict[str, Any],
    prediction: dict[str, Any] | None,
    timeline: dict[str, Any] | None,
    kernels: list[dict[str, Any]] | None,
    measured: dict[str, Any] | None,
    generated_at: str | None = None,
    ranks: dict[str, Any] | None = None,
) -> ReportDocument:
    """The complete report document (docs/report-json.md), typed, after :func:`self_check`.

    ``kernels`` (NCU blocks) get the rooflens rule results added to their ``findings``;
    timeline kernels without an NVTX operator get the name-classified one.
    """
    # Work on copies: the caller's dicts stay as they were (pure function).
    kernels = [dict(k) for k in kernels] if kernels is not None else None
    if timeline is not None:
        timeline = {**timeline, "kernels": [dict(k) for k in timeline.get("kernels") or []]}
    comparison: dict[str, Any] | None = None
    if prediction is not None and (timeline or kernels):
        comparison = compare(prediction, timeline, kernels, measured, gpu)
    elif timeline or kernels:
        comparison = compare({"operators": []}, timeline, kernels, measured, gpu)
    if comparison is not None:
        rows = _kernel_rows_for_findings(timeline, kernels, comparison)
        _attach_kernel_findings(kernels, rows)
        ops = {o["index"]: o["operator"] for o in comparison["kernel_operators"]}
        for k in (timeline or {}).get("kernels") or []:
            if k.get("operator") in (None, "other"):
                k["operator"] = ops.get(k.get("index")) or k.get("operator")
        comparison["findings"] = rank_findings(
            timeline,
            _kernel_rows_for_findings(timeline, kernels, comparison),
            comparison["operators"],
        )
    doc = {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "rooflens", "version": __version__},
        "generated_at": generated_at or datetime.now(UTC).isoformat(timespec="seconds"),
        "header": header,
        "gpu": gpu,
        "prediction": prediction,
        "timeline": timeline,
        "kernels": kernels,
        "measured": measured,
        "comparison": comparison,
        "kernel_groups": None if kernels is None else summarize_kernel_names(kernels),
        "breakdown": breakdown(timeline, prediction),
        "ranks": ranks,
    }
    self_check(doc)
    return ReportDocument.from_dict(doc)


def upgrade(doc: ReportDocument) -> ReportDocument:
    """A loaded report.json of an older schema with what analysis can recompute from it filled
    in (a 1.0 report has no ``kernel_groups``: a pure function of its NCU kernel blocks)."""
    if doc.kernel_groups is None and doc.kernels:
        rows = [k.to_dict() for k in doc.kernels]
        return replace(doc, kernel_groups=KernelGroups.from_dict(summarize_kernel_names(rows)))
    return doc
