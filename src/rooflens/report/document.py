"""report.json on disk: save, load (tolerant of older files) and self-check.

The saved document is the one result every renderer reads (docs/report-json.md); its typed
form and the one JSON reader and writer are :mod:`rooflens.report_model`, which these wrap.
Loading fills missing sections with their defaults, so a report written by an older rooflens
still renders.  :func:`self_check` asserts the physical invariants a correct report
must satisfy; :func:`rooflens.analysis.assemble.build_report` calls it before anything is written.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from rooflens.errors import InternalError
from rooflens.report_model import ReportDocument, as_document, read_report, with_defaults
from rooflens.schema import SCHEMA_VERSION

__all__ = ["SCHEMA_VERSION", "load_report", "problems", "save_report", "self_check",
           "with_defaults"]  # fmt: skip

# Slack for float sums (Σ of per-kernel values vs a window computed elsewhere).
_REL_TOL = 1e-6


def save_report(doc: ReportDocument | Mapping[str, Any], path: str | Path) -> None:
    """Write ``doc`` as report.json (:meth:`ReportDocument.to_json`, the one JSON writer)."""
    Path(path).write_bytes(as_document(doc).to_json())


def load_report(path: str | Path) -> ReportDocument:
    """Read a report.json (:func:`rooflens.report_model.read_report`, the one JSON reader);
    a missing, unreadable or foreign file raises :class:`InputError`.  Sections an older schema
    lacks get their defaults; what analysis can recompute from the rest (a 1.0 report's
    kernel_groups) is filled by :func:`rooflens.analysis.assemble.upgrade`."""
    return read_report(path)


def _problems_measured(doc: Mapping[str, Any]) -> list[str]:
    gpu, measured = doc.get("gpu") or {}, doc.get("measured") or {}
    out = []
    peak, bw = gpu.get("peak_flops"), gpu.get("bandwidth_bps")
    achieved = measured.get("achieved_flops_per_s")
    if peak and achieved is not None and achieved > peak * (1 + _REL_TOL):
        out.append(f"measured.achieved_flops_per_s {achieved:.4g} exceeds the GPU peak {peak:.4g}")
    abw = measured.get("achieved_bandwidth_bps")
    if bw and abw is not None and abw > bw * (1 + _REL_TOL):
        out.append(f"measured.achieved_bandwidth_bps {abw:.4g} exceeds the GPU bandwidth {bw:.4g}")
    return out


def _problems_timeline(doc: Mapping[str, Any]) -> list[str]:
    out = []
    for run in (doc.get("timeline") or {}).get("runs") or []:
        name = run.get("name")
        window, busy, ktime = run.get("window_s"), run.get("gpu_busy_s"), run.get("kernel_time_s")
        if window is not None and busy is not None and busy > window * (1 + _REL_TOL):
            out.append(
                f"timeline run {name}: GPU busy {busy:.4g} s exceeds its window {window:.4g} s"
            )
        if busy is not None and ktime is not None and busy > ktime * (1 + _REL_TOL):
            out.append(
                f"timeline run {name}: GPU busy {busy:.4g} s exceeds Σ kernel time {ktime:.4g} s"
            )
        ratio = run.get("bubble_ratio")
        if ratio is not None and not 0.0 <= ratio <= 1.0:
            out.append(f"timeline run {name}: bubble_ratio {ratio} outside [0, 1]")
    return out


def _path(where: tuple[Any, ...]) -> str:
    """``("kernels", 3, "dram_bytes")`` → ``kernels[3].dram_bytes`` (built only for a problem:
    formatting a path for each of a whole model's millions of values took seconds)."""
    out = ""
    for part in where:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


# Fractions of a whole: a bubble is part of a window, a kernel's share part of the run's kernel
# time, a utilisation part of a peak.  (``roof_fraction`` and padding ratios may exceed 1.)
_UNIT_INTERVAL = frozenset(
    {"bubble_ratio", "inter_kernel_bubble_ratio", "share", "compute_utilization",
     "memory_utilization"}
)  # fmt: skip
_NON_NEGATIVE = ("bytes", "_s", "flops", "_bps", "flops_per_s")


def _problems_numbers(node: Any, where: tuple[Any, ...]) -> list[str]:
    """Every number anywhere in the document, in one walk (a whole model's report holds tens of
    thousands of rows): NaN/inf nowhere; bytes, FLOPs, durations and rates ≥ 0; fractions of a
    whole in [0, 1]; percentages ≥ 0."""
    out: list[str] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if isinstance(value, float) and not math.isfinite(value):
                out.append(f"{_path((*where, key))} is {value}")
            elif isinstance(value, int | float) and not isinstance(value, bool):
                if value < 0 and key.endswith(_NON_NEGATIVE) and "gap" not in key:
                    out.append(f"{_path((*where, key))} is negative ({value})")
                if key in _UNIT_INTERVAL and not -_REL_TOL <= value <= 1 + _REL_TOL:
                    out.append(f"{_path((*where, key))} {value:.4g} outside [0, 1]")
                elif key.endswith("_pct") and value < -_REL_TOL:
                    out.append(f"{_path((*where, key))} is a negative percentage ({value:.4g})")
            elif isinstance(value, dict | list):
                out.extend(_problems_numbers(value, (*where, key)))
    elif isinstance(node, list):
        for i, item in enumerate(node):
            if isinstance(item, dict | list):
                out.extend(_problems_numbers(item, (*where, i)))
    return out


def _problems_findings(doc: Mapping[str, Any]) -> list[str]:
    """A finding group cannot save more time than its kernels take."""
    kernels = (doc.get("timeline") or {}).get("kernels") or doc.get("kernels") or []
    dur = {k.get("index"): float(k.get("duration_s") or 0.0) for k in kernels}
    out = []
    for f in (doc.get("comparison") or {}).get("findings") or []:
        indices = f.get("kernel_indices") or []
        if not indices or any(i not in dur for i in indices):
            continue
        total = sum(dur[i] for i in indices)
        if float(f.get("time_at_stake_s") or 0.0) > total * (1 + _REL_TOL) + 1e-15:
            out.append(
                f"finding {f.get('rule')} on {f.get('subject')}: time at stake "
                f"{f.get('time_at_stake_s'):.4g} s exceeds its kernels' time {total:.4g} s"
            )
    return out


def problems(doc: ReportDocument | Mapping[str, Any]) -> list[str]:
    """Every broken invariant of a report, as one readable line each (empty when sound)."""
    doc = doc.to_dict() if isinstance(doc, ReportDocument) else doc
    return (
        _problems_measured(doc)
        + _problems_timeline(doc)
        + _problems_findings(doc)
        + _problems_numbers(doc, ())
    )


def self_check(doc: ReportDocument | Mapping[str, Any]) -> None:
    """Raise :class:`InternalError` naming the first broken invariants of ``doc`` (a bug: the
    CLI prints it in one line with exit code 3; ``ROOFLENS_DEBUG=1`` shows the traceback).

    Invariants: achieved FLOP/s ≤ peak and bandwidth ≤ peak bandwidth; per run GPU busy ≤
    window and ≤ Σ kernel time; bubble ratios in [0, 1]; no negative bytes, FLOPs, durations
    or rates; no NaN/inf (JSON has none, a missing value is ``null``).
    """
    found = problems(doc)
    if found:
        more = f" (and {len(found) - 3} more)" if len(found) > 3 else ""
        raise InternalError("report self-check failed: " + "; ".join(found[:3]) + more)
