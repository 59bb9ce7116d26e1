"""The timeline chart of the HTML report: the chosen run's kernels on a time axis, gaps shaded.

With several steps (NVTX ``prefill`` / ``decode[k]``) it shows the step with the most idle time
in full and one busy/idle bar per step; beyond :data:`TIMELINE_BARS_MAX` kernels, kernels less
than a pixel apart share a bar, so a whole model's 30,000 kernels stay a few hundred marks.
Every user-controlled string goes through :func:`esc`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape
from typing import Any

from rooflens.report.formats import f_time
from rooflens.report.kernel_view import number
from rooflens.report_model import ReportDocument, TimelineKernel

# Timeline kernels with a start time (the only ones a time axis can place).
Placed = TimelineKernel

TIMELINE_BARS_MAX = 1000


def esc(text: object) -> str:
    """Escape text for SVG/HTML content and attribute values."""
    return escape(str(text), quote=True)


def _start(k: Placed) -> float:
    return float(k.start_s)  # type: ignore[arg-type]  # timeline_steps keeps placed kernels only


def _end(k: Placed) -> float:
    return _start(k) + float(k.duration_s or 0.0)


def busy_time(ks: Sequence[Placed]) -> float:
    """Length of the union of the kernels' intervals (overlapping kernels count once)."""
    busy, reach = 0.0, -math.inf
    for k in sorted(ks, key=_start):
        start, end = max(_start(k), reach), _end(k)
        if end > start:
            busy += end - start
        reach = max(reach, end)
    return busy


@dataclass(frozen=True, slots=True)
class Step:
    """One step of the chosen run (NVTX phase label; ``""`` when none): its placed kernels,
    first start and last end, GPU busy time (union of kernel intervals) and idle time, seconds."""

    name: str
    kernels: list[Placed]
    start_s: float
    end_s: float
    busy_s: float
    idle_s: float


def timeline_steps(doc: ReportDocument) -> list[Step]:
    """The chosen run's steps (kernels by NVTX phase label: ``prefill``, ``decode[k]``; one step
    when there is none), in launch order."""
    kernels = doc.timeline.kernels if doc.timeline else ()
    by_step: dict[str, list[Placed]] = {}
    for k in kernels:
        if k.start_s is not None:
            by_step.setdefault(str(k.phase or ""), []).append(k)
    steps = []
    for name, members in by_step.items():
        start, end = min(_start(k) for k in members), max(_end(k) for k in members)
        busy = busy_time(members)
        steps.append(Step(name, members, start, end, busy, max(end - start - busy, 0.0)))
    return sorted(steps, key=lambda st: st.start_s)


def detail_step(steps: list[Step]) -> Step | None:
    """The step the timeline shows in full: the one with the most idle time (its bubbles are
    the ones worth seeing); the first such step on a tie."""
    return max(steps, key=lambda st: st.idle_s) if steps else None


def timeline_bars(
    ks: Sequence[Placed], t0: float, span: float, pw: float
) -> list[tuple[float, float, list[Placed]]]:
    """(start s, end s, kernels) per bar: one per kernel, or — beyond :data:`TIMELINE_BARS_MAX`
    kernels — runs of kernels less than a pixel apart merged into one bar."""
    ordered = sorted(ks, key=_start)
    if len(ordered) <= TIMELINE_BARS_MAX:
        return [(_start(k), _end(k), [k]) for k in ordered]
    pixel = span / pw
    bars: list[tuple[float, float, list[Placed]]] = []
    for k in ordered:
        if bars and _start(k) - bars[-1][1] < pixel:
            start, end, members = bars[-1]
            members.append(k)
            bars[-1] = (start, max(end, _end(k)), members)
        else:
            bars.append((_start(k), _end(k), [k]))
    return bars


def _bar_info(members: list[Placed]) -> str:
    k = members[0]
    if len(members) == 1:
        return (
            f"#{number(k.index)} {k.short_name or k.name}: "
            f"{f_time(k.duration_s)} ({k.operator or ''})"
        )
    first, last = number(members[0].index), number(members[-1].index)
    return f"#{first}–{last} ({len(members)}): {f_time(busy_time(members))}"


def _bars_svg(ks: Sequence[Placed], y: int, ml: float, pw: float, s: dict[str, Any]) -> list[str]:
    t0 = min(_start(k) for k in ks)
    span = (max(_end(k) for k in ks) - t0) or 1e-9

    def px(t: float) -> float:
        return ml + (t - t0) / span * pw

    parts = [
        f'<rect class="gap" x="{ml}" y="{y}" width="{pw}" height="50" fill="#f6d5d5">'
        f"<title>{esc(s['idle'])}</title></rect>"
    ]
    for start, end, members in timeline_bars(ks, t0, span, pw):
        ops = {m.operator for m in members}
        colour = "#f0ad4e" if ops <= {"copy", "other"} else "#337ab7"
        info = esc(_bar_info(members))
        parts.append(
            f'<rect class="kernel-bar" x="{px(start):.2f}" y="{y}" width="{max(px(end) - px(start), 0.25):.2f}" '
            f'height="50" fill="{colour}" data-info="{info}"><title>{info}</title></rect>'
        )
    parts.append(f'<text x="{ml}" y="{y + 66}" font-size="11">0</text>')
    parts.append(
        f'<text x="{ml + pw}" y="{y + 66}" font-size="11" text-anchor="end">{esc(f_time(span))}</text>'
    )
    return parts


def _overview_svg(steps: list[Step], y: int, ml: float, pw: float, s: dict[str, Any]) -> list[str]:
    """One bar per step, busy (blue) and idle (pink) side by side, on the run's time axis."""
    t0, t1 = steps[0].start_s, max(st.end_s for st in steps)
    span = (t1 - t0) or 1e-9
    parts = []
    for st in steps:
        x = ml + (st.start_s - t0) / span * pw
        w = max((st.end_s - st.start_s) / span * pw, 0.8)
        busy_w = w * (st.busy_s / ((st.end_s - st.start_s) or 1e-9))
        info = esc(
            f"{st.name or '-'}: {len(st.kernels)}, {s['busy']} {f_time(st.busy_s)}, "
            f"{s['idle']} {f_time(st.idle_s)}"
        )
        parts.append(
            f'<g class="step" data-info="{info}"><title>{info}</title>'
            f'<rect x="{x:.2f}" y="{y}" width="{w:.2f}" height="24" fill="#f6d5d5"/>'
            f'<rect x="{x:.2f}" y="{y}" width="{busy_w:.2f}" height="24" fill="#337ab7"/></g>'
        )
    parts.append(f'<text x="{ml}" y="{y + 40}" font-size="11">0</text>')
    parts.append(
        f'<text x="{ml + pw}" y="{y + 40}" font-size="11" text-anchor="end">{esc(f_time(span))}</text>'
    )
    return parts


def timeline_svg(doc: ReportDocument, s: dict[str, Any], width: int = 1100) -> str:
    """The chosen run on a time axis, gaps shaded (empty without kernel starts).

    One step (or none marked): every kernel of the run.  Several steps: the step with the most
    idle time in full, then every step as one busy/idle bar (the per-step overview).
    """
    steps = timeline_steps(doc)
    if not steps:
        return ""
    ml, pw = 10.0, width - 20.0
    several = len(steps) > 1
    height = 200 if several else 120
    parts = [
        f'<svg class="chart timeline" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{esc(s["chart_timeline"])}">'
    ]
    if several:
        step = detail_step(steps)
        assert step is not None
        parts.append(f'<text x="{ml}" y="14" font-size="12">{esc(step_title(step, s))}</text>')
        parts += _bars_svg(step.kernels, 20, ml, pw, s)
        parts.append(f'<text x="{ml}" y="110" font-size="12">{esc(s["step_overview"])}</text>')
        parts += _overview_svg(steps, 118, ml, pw, s)
        legend = f"{s['timeline_legend']}; {s['overview_legend']}"
    else:
        parts += _bars_svg(steps[0].kernels, 20, ml, pw, s)
        legend = str(s["timeline_legend"])
    parts.append(f'<text x="10" y="{height - 8}" font-size="11">{esc(legend)}</text></svg>')
    return "\n".join(parts)


def step_title(step: Step, s: dict[str, Any]) -> str:
    return str(s["step_detail"]).format(step=step.name or "-")
