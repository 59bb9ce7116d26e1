"""Inline SVG charts for the HTML report, drawn from report.json alone (no JS library, no CDN).

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
from html import escape
from typing import Any

from rooflens.report.view import f_frac, f_intensity, f_rate, f_time

BOUND_COLOURS = {"compute": "#d9534f", "memory": "#337ab7", "latency": "#8e8e8e"}


def esc(text: object) -> str:
    """Escape text for SVG/HTML content and attribute values."""
    return escape(str(text), quote=True)


def _log_pos(value: float, lo: float, hi: float, length: float) -> float:
    return (math.log10(value) - math.log10(lo)) / (math.log10(hi) - math.log10(lo)) * length


def _decades(lo: float, hi: float) -> list[float]:
    return [10.0**e for e in range(math.ceil(math.log10(lo)), math.floor(math.log10(hi)) + 1)]


def roofline_points(doc: dict[str, Any]) -> tuple[list[dict[str, Any]], int]:
    """Kernels that can sit on a log-log roofline (intensity > 0, FLOP/s > 0) and the count left out."""
    points, skipped = [], 0
    for k in doc.get("kernels") or []:
        i, f = k.get("intensity"), k.get("achieved_flops_per_s")
        if i and f and i > 0 and f > 0:
            points.append(k)
        else:
            skipped += 1
    return points, skipped


def roofline_svg(doc: dict[str, Any], width: int = 760, height: int = 440) -> str:
    """The roofline chart as an ``<svg>`` element (empty string without GPU peaks)."""
    gpu = doc.get("gpu") or {}
    peak, bw = gpu.get("peak_flops"), gpu.get("bandwidth_bps")
    if not peak or not bw:
        return ""
    points, _ = roofline_points(doc)
    ridge = peak / bw
    xs = [k["intensity"] for k in points] + [ridge / 100, ridge * 10]
    ys = [k["achieved_flops_per_s"] for k in points] + [peak / 1e4]
    x_lo, x_hi = min(xs) / 2, max(xs) * 2
    y_lo, y_hi = min(ys) / 2, peak * 3
    ml, mb, pw, ph = 100, 40, width - 120, height - 60

    def px(x: float) -> float:
        return ml + _log_pos(x, x_lo, x_hi, pw)

    def py(y: float) -> float:
        return 10 + ph - _log_pos(y, y_lo, y_hi, ph)

    parts = [
        f'<svg class="chart roofline" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="roofline">',
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
    longest = max((float(k.get("duration_s") or 0.0) for k in points), default=0.0) or 1.0
    for k in sorted(points, key=lambda k: -float(k.get("duration_s") or 0.0)):
        parts.append(_roofline_point(k, px(k["intensity"]), py(k["achieved_flops_per_s"]), longest))
    parts.append("</svg>")
    return "\n".join(parts)


def _tick(x: float) -> str:
    return f"{x:g}" if 1e-3 <= x < 1e5 else f"1e{round(math.log10(x))}"


def _roofline_point(k: dict[str, Any], x: float, y: float, longest: float) -> str:
    r = 3 + 15 * math.sqrt(float(k.get("duration_s") or 0.0) / longest)
    name = k.get("short_name") or k.get("name") or ""
    info = (
        f"#{k.get('index')} {name}: {f_time(k.get('duration_s'))}, {f_rate(k.get('achieved_flops_per_s'))}, "
        f"{f_intensity(k.get('intensity'))}, roof {f_frac(k.get('roof_fraction'))}, {k.get('bound') or ''}"
    )
    colour = BOUND_COLOURS.get(k.get("bound") or "", "#5cb85c")
    return (
        f'<circle class="kernel-point" cx="{x:.1f}" cy="{y:.1f}" r="{r:.1f}" fill="{colour}" '
        f'fill-opacity="0.55" stroke="{colour}" data-info="{esc(info)}"><title>{esc(info)}</title></circle>'
    )


def timeline_svg(doc: dict[str, Any], width: int = 1100, height: int = 120) -> str:
    """Bars of the chosen run's kernels on a linear time axis; gaps shaded (empty without starts)."""
    ks = [
        k for k in (doc.get("timeline") or {}).get("kernels") or [] if k.get("start_s") is not None
    ]
    if not ks:
        return ""
    t0 = min(k["start_s"] for k in ks)
    t1 = max(k["start_s"] + (k.get("duration_s") or 0.0) for k in ks)
    span = (t1 - t0) or 1e-9
    ml, pw = 10, width - 20

    def px(t: float) -> float:
        return ml + (t - t0) / span * pw

    parts = [
        f'<svg class="chart timeline" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="timeline">',
        f'<rect class="gap" x="{ml}" y="20" width="{pw}" height="50" fill="#f6d5d5"><title>idle</title></rect>',
    ]
    for k in sorted(ks, key=lambda k: k["start_s"]):
        x0, x1 = px(k["start_s"]), px(k["start_s"] + (k.get("duration_s") or 0.0))
        colour = "#337ab7" if k.get("operator") not in ("copy", "other") else "#f0ad4e"
        info = f"#{k.get('index')} {k.get('short_name') or k.get('name')}: {f_time(k.get('duration_s'))} ({k.get('operator') or ''})"
        parts.append(
            f'<rect class="kernel-bar" x="{x0:.2f}" y="20" width="{max(x1 - x0, 0.8):.2f}" height="50" '
            f'fill="{colour}" data-info="{esc(info)}"><title>{esc(info)}</title></rect>'
        )
    parts.append(f'<text x="{ml}" y="90" font-size="11">0</text>')
    parts.append(
        f'<text x="{ml + pw}" y="90" font-size="11" text-anchor="end">{esc(f_time(span))}</text>'
    )
    parts.append(
        '<text x="10" y="110" font-size="11">blue/orange: kernels (orange = copy/other), pink: GPU idle</text></svg>'
    )
    return "\n".join(parts)


def operator_times(doc: dict[str, Any]) -> list[tuple[str, float, float | None]]:
    """(operator, measured s, predicted s or None) for the chosen run, largest measured first."""
    measured: dict[str, float] = defaultdict(float)
    kernels = (doc.get("timeline") or {}).get("kernels") or doc.get("kernels") or []
    ops = {
        o["index"]: o["operator"]
        for o in (doc.get("comparison") or {}).get("kernel_operators") or []
    }
    for k in kernels:
        measured[ops.get(k.get("index")) or k.get("operator") or "other"] += float(
            k.get("duration_s") or 0.0
        )
    predicted: dict[str, float] = defaultdict(float)
    for o in (doc.get("comparison") or {}).get("operators") or []:
        predicted[o["name"]] += float(o.get("predicted_time_s") or 0.0)
    names = sorted(set(measured) | set(predicted), key=lambda n: -measured.get(n, 0.0))
    return [(n, measured.get(n, 0.0), predicted.get(n)) for n in names]


def operators_svg(doc: dict[str, Any], width: int = 760) -> str:
    """Horizontal bars: measured time (solid) and predicted time (outline) per operator."""
    rows = operator_times(doc)
    if not rows:
        return ""
    top = max(max(m, p or 0.0) for _, m, p in rows) or 1.0
    row_h, ml, pw = 22, 130, width - 230
    height = 20 + row_h * len(rows)
    parts = [
        f'<svg class="chart operators" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="time by operator">'
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
                f"<title>{esc(name)} predicted: {esc(f_time(pred))}</title></rect>"
            )
        label = f_time(meas) + (f" / {f_time(pred)}" if pred else "")
        parts.append(f'<text x="{ml + pw + 6}" y="{y + 14}" font-size="11">{esc(label)}</text>')
    parts.append("</svg>")
    return "\n".join(parts)
