"""Two reports side by side: what changed between run A and run B, against the model's baseline.

``rooflens diff A B`` answers "did my change make it faster, and where?": per operator and
phase the predicted time (the roofline, the same for both when the workload is the same), A's
and B's measured time and the change; per phase the same plus the chosen run's bubble ratio
and kernel count; and the findings that appeared or vanished.  Inputs are two report.json
documents (docs/report-json.md), so any two reports compare — eager vs CUDA graphs, two
engine versions, two GPUs.  Pure functions from two typed report documents to the typed diff
document (:class:`rooflens.report_model.DiffDocument`); all times in seconds, ratios as
fractions.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from rooflens.report_model import (
    DiffDocument,
    Finding,
    NcuKernel,
    ReportDocument,
    RunFigures,
    TimelineKernel,
    as_document,
)
from rooflens.vocab import canonical_operator, canonical_phase

DIFF_SCHEMA_VERSION = "1.0"  # diff.json has a version of its own (DiffDocument)


def _change(a: float | None, b: float | None) -> float | None:
    """Relative change B vs A (0.1 = B takes 10% longer); None when either is missing or A is 0."""
    if a is None or b is None or a <= 0:
        return None
    return b / a - 1.0


def _measured_kernels(doc: ReportDocument) -> Sequence[TimelineKernel | NcuKernel]:
    """The chosen run's kernels (timeline when present, else NCU), with phase and duration."""
    return (doc.timeline.kernels if doc.timeline else ()) or (doc.kernels or ())


def phase_times(doc: ReportDocument) -> dict[str, dict[str, Any]]:
    """Measured kernel time and kernel count per canonical phase (``prefill``, ``decode``)."""
    out: dict[str, dict[str, Any]] = defaultdict(lambda: {"time_s": 0.0, "kernel_count": 0})
    for k in _measured_kernels(doc):
        row = out[canonical_phase(getattr(k, "phase", None))]
        row["time_s"] += float(k.duration_s or 0.0)
        row["kernel_count"] += 1
    return dict(out)


def _predicted_phase_times(doc: ReportDocument) -> dict[str, float]:
    """Predicted time per phase over the operators the comparison kept in scope."""
    out: dict[str, float] = defaultdict(float)
    for o in doc.comparison.operators if doc.comparison else ():
        out[o.phase] += float(o.predicted_time_s or 0.0)
    return dict(out)


def chosen_run(doc: ReportDocument) -> RunFigures:
    """The ``timeline.runs[]`` entry of the chosen run (all ``None`` without a timeline)."""
    timeline = doc.timeline
    runs = timeline.runs if timeline else ()
    return next((r for r in runs if timeline and r.name == timeline.chosen_run), RunFigures())


def _operator_rows(a: ReportDocument, b: ReportDocument) -> list[dict[str, Any]]:
    """One row per (operator, phase) present in either report, in A's order then B's."""
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    for side, doc in (("a", a), ("b", b)):
        for o in doc.comparison.operators if doc.comparison else ():
            key = (canonical_operator(o.name), o.phase)
            row = rows.setdefault(
                key,
                {"name": key[0], "phase": key[1], "predicted_time_s": None,
                 "a_time_s": None, "b_time_s": None, "a_kernels": 0, "b_kernels": 0},
            )  # fmt: skip
            if row["predicted_time_s"] is None:
                row["predicted_time_s"] = o.predicted_time_s
            row[f"{side}_time_s"] = o.measured_time_s
            row[f"{side}_kernels"] = int(o.kernel_count or 0)
    out = list(rows.values())
    for row in out:
        row["change"] = _change(row["a_time_s"], row["b_time_s"])
        row["delta_s"] = (
            row["b_time_s"] - row["a_time_s"]
            if row["a_time_s"] is not None and row["b_time_s"] is not None
            else None
        )
    return out


def _phase_rows(a: ReportDocument, b: ReportDocument) -> list[dict[str, Any]]:
    """Per phase: predicted, A and B measured kernel time, kernel counts and the change."""
    pa, pb = phase_times(a), phase_times(b)
    pred = _predicted_phase_times(a) or _predicted_phase_times(b)
    out = []
    for phase in sorted(set(pa) | set(pb), key=lambda p: (p != "prefill", p)):
        ta = pa.get(phase, {}).get("time_s")
        tb = pb.get(phase, {}).get("time_s")
        out.append(
            {"phase": phase, "predicted_time_s": pred.get(phase),
             "a_time_s": ta, "b_time_s": tb, "change": _change(ta, tb),
             "a_kernels": pa.get(phase, {}).get("kernel_count", 0),
             "b_kernels": pb.get(phase, {}).get("kernel_count", 0)}
        )  # fmt: skip
    return out


def _run_row(a: ReportDocument, b: ReportDocument) -> dict[str, Any]:
    """The chosen runs: range duration, kernel time, bubble ratio, kernel count, A vs B."""
    ra, rb = chosen_run(a), chosen_run(b)
    keys = ("range_duration_s", "kernel_time_s", "gpu_busy_s", "bubble_ratio", "kernel_count")
    row: dict[str, Any] = {"a_name": ra.name, "b_name": rb.name}
    for key in keys:
        row[f"a_{key}"], row[f"b_{key}"] = getattr(ra, key), getattr(rb, key)
    row["range_change"] = _change(ra.range_duration_s, rb.range_duration_s)
    ba, bb = ra.bubble_ratio, rb.bubble_ratio
    row["bubble_change_points"] = (bb - ba) * 100.0 if ba is not None and bb is not None else None
    return row


def _finding_keys(doc: ReportDocument) -> dict[tuple[str, str], Finding]:
    """Findings keyed by (rule, subject); the chosen run's own name becomes ``run`` so that runs
    with different names (``Run[2]`` vs ``Run[1]``) still match."""
    run = doc.timeline.chosen_run if doc.timeline else None
    out = {}
    for f in doc.comparison.findings if doc.comparison else ():
        subject = str(f.subject or "")
        out[(str(f.rule), "run" if subject == run else subject)] = f
    return out


def _findings_delta(a: ReportDocument, b: ReportDocument) -> dict[str, list[dict[str, Any]]]:
    fa, fb = _finding_keys(a), _finding_keys(b)

    def rows(
        keys: Iterable[tuple[str, str]], src: dict[tuple[str, str], Finding]
    ) -> list[dict[str, Any]]:
        return [{"rule": r, "subject": s, "severity": src[(r, s)].severity,
                 "message": src[(r, s)].message} for r, s in keys]  # fmt: skip

    return {
        "appeared": rows([k for k in fb if k not in fa], fb),
        "vanished": rows([k for k in fa if k not in fb], fa),
    }


def _side(doc: ReportDocument, label: str, source: str | None) -> dict[str, Any]:
    h, gpu = doc.header, doc.gpu
    return {"label": label, "source": source, "model": h.model, "batch_size": h.batch_size,
            "input_len": h.input_len, "output_len": h.output_len,
            "gpu": gpu.detected_name or gpu.spec_key,
            "capture_command": h.capture_command}  # fmt: skip


def diff_reports(
    a: ReportDocument | Mapping[str, Any],
    b: ReportDocument | Mapping[str, Any],
    *,
    a_source: str | None = None,
    b_source: str | None = None,
) -> DiffDocument:
    """The diff document (docs/report-json.md, "diff.json"): sides, phases, run, operators, findings.

    ``a``/``b``: typed report documents (a report.json dict is converted); ``a_source`` /
    ``b_source`` say where each report came from (a path), for the reader.
    """
    a, b = as_document(a), as_document(b)
    sides = [_side(a, "A", a_source), _side(b, "B", b_source)]
    same = all(
        sides[0][k] == sides[1][k] for k in ("model", "batch_size", "input_len", "output_len")
    )
    return DiffDocument.from_dict({
        "schema_version": DIFF_SCHEMA_VERSION,
        "sides": sides,
        "same_workload": same,
        "phases": _phase_rows(a, b),
        "run": _run_row(a, b),
        "operators": _operator_rows(a, b),
        "findings": _findings_delta(a, b),
    })  # fmt: skip


def regressions(diff: DiffDocument, threshold: float) -> list[str]:
    """Phases where B's measured kernel time exceeds A's by more than ``threshold`` (0.05 = 5%),
    plus the chosen run's range duration — one line each, for ``--fail-above``."""
    out = []
    for p in diff.phases:
        if p.change is not None and p.change > threshold:
            out.append(f"{p.phase}: {p.a_time_s:.6g} s -> {p.b_time_s:.6g} s (+{p.change:.1%})")
    run = diff.run
    if run.range_change is not None and run.range_change > threshold:
        out.append(f"run range: {run.a_range_duration_s:.6g} s -> {run.b_range_duration_s:.6g} s"
                   f" (+{run.range_change:.1%})")  # fmt: skip
    return out
