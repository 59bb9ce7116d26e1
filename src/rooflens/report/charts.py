"""Inline SVG charts for the HTML report, drawn from the typed document alone (no JS library, no CDN).

- :func:`roofline_svg` — log-log roofline of the GPU in the document (memory roof
  ``bandwidth × intensity``, compute roof ``peak``), one circle per NCU kernel at (intensity,
  achieved FLOP/s), area ∝ its duration; each circle has a ``<title>`` (native hover) and
  ``data-*`` attributes the page's small script shows on hover.
- :func:`timeline_svg` — the chosen run's kernels as bars on a time axis; the gaps between
  them are shaded so the bubbles are visible.
- :func:`operators_svg` — measured vs predicted time per operator, as horizontal bars.

Every user-controlled string (kernel, NVTX and model names) goes through :func:`esc`.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape
from typing import Any

from rooflens.report.formats import f_frac, f_indices, f_intensity, f_rate, f_time
from rooflens.report.kernel_view import ncu_number, ncu_signature_groups
from rooflens.report.timeline_chart import (
    TIMELINE_BARS_MAX,
    detail_step,
    step_title,
    timeline_bars,
    timeline_steps,
    timeline_svg,
)
from rooflens.report_model import NcuKernel, ReportDocument, TimelineKernel

__all__ = [
    "TIMELINE_BARS_MAX",
    "chart_captions",
    "detail_step",
    "operators_svg",
    "roofline_marks",
    "roofline_svg",
    "timeline_bars",
    "timeline_steps",
    "timeline_svg",
]

BOUND_COLOURS = {"compute": "#d9534f", "memory": "#337ab7", "latency": "#8e8e8e"}


def esc(text: object) -> str:
    """Escape text for SVG/HTML content and attribute values."""
    return escape(str(text), quote=True)


def _log_pos(value: float, lo: float, hi: float, length: float) -> float:
    return (math.log10(value) - math.log10(lo)) / (math.log10(hi) - math.log10(lo)) * length


def _decades(lo: float, hi: float) -> list[float]:
    return [10.0**e for e in range(math.ceil(math.log10(lo)), math.floor(math.log10(hi)) + 1)]


# Above this many plotted kernels the roofline shows one point per kernel signature (name, grid,
# block, operator, phase: identical launches sit on the same spot anyway): a whole model's
# 30,000 kernels stay readable and the page small.
ROOFLINE_POINTS_MAX = 2000


@dataclass(frozen=True, slots=True)
class Mark:
    """A point on the roofline: one NCU kernel, or a signature's kernels together (FLOP/B,
    FLOP/s, seconds); ``numbers`` are the kernels' 1-based numbers."""

    numbers: list[int]
    intensity: float
    achieved_flops_per_s: float
    duration_s: float
    name: str
    bound: str
    roof_fraction: float | None


def _mark(k: NcuKernel, numbers: list[int], **figures: float) -> Mark:
    return Mark(
        numbers=numbers,
        intensity=figures.get("intensity", k.intensity or 0.0),
        achieved_flops_per_s=figures.get("achieved_flops_per_s", k.achieved_flops_per_s or 0.0),
        duration_s=figures.get("duration_s", float(k.duration_s or 0.0)),
        name=k.short_name or k.name or "",
        bound=k.bound or "",
        roof_fraction=k.roof_fraction,
    )


def roofline_points(doc: ReportDocument) -> tuple[list[NcuKernel], int]:
    """Kernels that can sit on a log-log roofline (intensity > 0, FLOP/s > 0) and the count left out."""
    points, skipped = [], 0
    for k in doc.kernels or ():
        i, f = k.intensity, k.achieved_flops_per_s
        if i and f and i > 0 and f > 0:
            points.append(k)
        else:
            skipped += 1
    return points, skipped


def roofline_marks(doc: ReportDocument) -> list[Mark]:
    """What the roofline draws: one mark per kernel (``numbers`` = its 1-based number), or per
    signature above :data:`ROOFLINE_POINTS_MAX` (Σ FLOPs / Σ bytes, Σ FLOPs / Σ time)."""
    points, _ = roofline_points(doc)
    plotted = {id(k) for k in points}
    if len(points) <= ROOFLINE_POINTS_MAX:
        return [
            _mark(k, [ncu_number(k, i)]) for i, k in enumerate(doc.kernels or ())
            if id(k) in plotted
        ]  # fmt: skip
    marks = []
    for g in ncu_signature_groups(doc):
        members = [k for k in g.members if id(k) in plotted]
        if not members:
            continue
        # Plotted kernels have intensity and FLOP/s > 0 (roofline_points).
        dur = sum(float(k.duration_s or 0.0) for k in members)
        flops = sum((k.achieved_flops_per_s or 0.0) * float(k.duration_s or 0.0) for k in members)
        nbytes = sum(
            (k.achieved_flops_per_s or 0.0) * float(k.duration_s or 0.0) / (k.intensity or 1.0)
            for k in members
        )
        if dur <= 0 or flops <= 0 or nbytes <= 0:
            continue
        numbers = [n for k, n in zip(g.members, g.numbers, strict=True) if id(k) in plotted]
        marks.append(
            _mark(members[0], numbers, duration_s=dur, intensity=flops / nbytes,
                  achieved_flops_per_s=flops / dur)
        )  # fmt: skip
    return marks


def roofline_svg(
    doc: ReportDocument, s: dict[str, Any], width: int = 760, height: int = 440
) -> str:
    """The roofline chart as an ``<svg>`` element (empty string without GPU peaks)."""
    peak, bw = doc.gpu.peak_flops, doc.gpu.bandwidth_bps
    if not peak or not bw:
        return ""
    points = roofline_marks(doc)
    ridge = peak / bw
    xs = [k.intensity for k in points] + [ridge / 100, ridge * 10]
    ys = [k.achieved_flops_per_s for k in points] + [peak / 1e4]
    x_lo, x_hi = min(xs) / 2, max(xs) * 2
    y_lo, y_hi = min(ys) / 2, peak * 3
    ml, mb, pw, ph = 100, 40, width - 120, height - 60

    def px(x: float) -> float:
        return ml + _log_pos(x, x_lo, x_hi, pw)

    def py(y: float) -> float:
        return 10 + ph - _log_pos(y, y_lo, y_hi, ph)

    parts = [
        f'<svg class="chart roofline" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{esc(s["chart_roofline"])}">',
        f'<rect x="{ml}" y="10" width="{pw}" height="{ph}" fill="#fbfbfb" stroke="#ccc"/>',
    ]
    for d in _decades(x_lo, x_hi):
        parts.append(
            f'<line x1="{px(d):.1f}" y1="10" x2="{px(d):.1f}" y2="{10 + ph}" stroke="#eee"/>'
        )
        parts.append(
            f'<text x="{px(d):.1f}" y="{height - mb + 22}" font-size="11" text-anchor="middle">{esc(_tick(d))}</text>'
        )
    for d in _decades(y_lo, y_hi):
        parts.append(
            f'<line x1="{ml}" y1="{py(d):.1f}" x2="{ml + pw}" y2="{py(d):.1f}" stroke="#eee"/>'
        )
        parts.append(
            f'<text x="{ml - 6}" y="{py(d) + 4:.1f}" font-size="11" text-anchor="end">{esc(f_rate(d))}</text>'
        )
    x_start = max(x_lo, y_lo / bw)
    roof = [(x_start, bw * x_start), (ridge, peak), (x_hi, peak)]
    path = " ".join(
        f"{'M' if i == 0 else 'L'}{px(x):.1f},{py(y):.1f}" for i, (x, y) in enumerate(roof)
    )
    parts.append(f'<path class="roof" d="{path}" fill="none" stroke="#222" stroke-width="2"/>')
    parts.append(
        f'<text x="{px(ridge):.1f}" y="{py(peak) - 6:.1f}" font-size="11">'
        f"{esc(f_rate(peak))} · {esc(f_intensity(ridge))}</text>"
    )
    parts.append(
        f'<text x="{ml + pw / 2}" y="{height - 4}" font-size="12" text-anchor="middle">FLOP/B</text>'
    )
    longest = max((k.duration_s for k in points), default=0.0) or 1.0
    for k in sorted(points, key=lambda k: -k.duration_s):
        parts.append(_roofline_point(k, px(k.intensity), py(k.achieved_flops_per_s), longest, s))
    parts.append("</svg>")
    return "\n".join(parts)


def _tick(x: float) -> str:
    return f"{x:g}" if 1e-3 <= x < 1e5 else f"1e{round(math.log10(x))}"


def _numbers(numbers: list[int]) -> str:
    """``#4`` for one kernel, ``#4, 7, … (n)`` for a signature's kernels."""
    shown = f_indices([n - 1 for n in numbers])
    return f"#{shown}" + (f" ({len(numbers)})" if len(numbers) > 1 else "")


def _roofline_point(k: Mark, x: float, y: float, longest: float, s: dict[str, Any]) -> str:
    r = 3 + 15 * math.sqrt(k.duration_s / longest)
    bound = str(s["bounds"].get(k.bound, k.bound))
    info = (
        f"{_numbers(k.numbers)} {k.name}: {f_time(k.duration_s)}, "
        f"{f_rate(k.achieved_flops_per_s)}, {f_intensity(k.intensity)}, "
        f"{s['roof_short']} {f_frac(k.roof_fraction)}, {bound}"
    )
    colour = BOUND_COLOURS.get(k.bound, "#5cb85c")
    return (
        f'<circle class="kernel-point" cx="{x:.1f}" cy="{y:.1f}" r="{r:.1f}" fill="{colour}" '
        f'fill-opacity="0.55" stroke="{colour}" data-info="{esc(info)}"><title>{esc(info)}</title></circle>'
    )


def chart_captions(doc: ReportDocument, s: dict[str, Any]) -> dict[str, str]:
    """What each PNG chart shows, in the report's language (the PNGs carry only numbers and
    units, so they read the same in every language and need no CJK font)."""
    steps = timeline_steps(doc)
    step = detail_step(steps)
    timeline = (
        str(s["chart_timeline_caption"]).format(step_detail=step_title(step, s))
        if step is not None and len(steps) > 1
        else str(s["chart_timeline_caption_single"])
    )
    return {
        "chart_roofline": str(s["chart_roofline_caption"]),
        "chart_timeline": timeline,
        "chart_operators": str(s["chart_operators_caption"]),
    }


def operator_times(doc: ReportDocument) -> list[tuple[str, float, float | None]]:
    """(operator, measured s, predicted s or None) for the chosen run, largest measured first."""
    measured: dict[str, float] = defaultdict(float)
    kernels: Sequence[TimelineKernel | NcuKernel] = (
        doc.timeline.kernels if doc.timeline else ()
    ) or (doc.kernels or ())
    comp = doc.comparison
    ops = {o.index: o.operator for o in comp.kernel_operators} if comp else {}
    for k in kernels:
        measured[ops.get(k.index) or k.operator or "other"] += float(k.duration_s or 0.0)
    predicted: dict[str, float] = defaultdict(float)
    for o in comp.operators if comp else ():
        predicted[o.name] += float(o.predicted_time_s or 0.0)
    names = sorted(set(measured) | set(predicted), key=lambda n: -measured.get(n, 0.0))
    return [(n, measured.get(n, 0.0), predicted.get(n)) for n in names]


def operators_svg(doc: ReportDocument, s: dict[str, Any], width: int = 760) -> str:
    """Horizontal bars: measured time (solid) and predicted time (outline) per operator."""
    rows = operator_times(doc)
    if not rows:
        return ""
    top = max(max(m, p or 0.0) for _, m, p in rows) or 1.0
    row_h, ml, pw = 22, 130, width - 230
    height = 20 + row_h * len(rows)
    parts = [
        f'<svg class="chart operators" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{esc(s["chart_operators"])}">'
    ]
    for i, (name, meas, pred) in enumerate(rows):
        y = 10 + i * row_h
        parts.append(
            f'<text x="{ml - 6}" y="{y + 14}" font-size="12" text-anchor="end">{esc(name)}</text>'
        )
        parts.append(
            f'<rect class="op-bar" x="{ml}" y="{y + 2}" width="{meas / top * pw:.1f}" height="14" fill="#337ab7">'
            f"<title>{esc(name)}: {esc(f_time(meas))}</title></rect>"
        )
        if pred:
            parts.append(
                f'<rect x="{ml}" y="{y}" width="{pred / top * pw:.1f}" height="18" fill="none" stroke="#d9534f">'
                f"<title>{esc(name)} {esc(s['predicted'])}: {esc(f_time(pred))}</title></rect>"
            )
        label = f_time(meas) + (f" / {f_time(pred)}" if pred else "")
        parts.append(f'<text x="{ml + pw + 6}" y="{y + 14}" font-size="11">{esc(label)}</text>')
    parts.append("</svg>")
    return "\n".join(parts)
