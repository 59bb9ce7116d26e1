"""PNG charts for the Markdown report (matplotlib, the optional ``charts`` extra, imported lazily).

Same three charts as the HTML page, from the same report.json data: roofline (log-log, one
point per kernel — per kernel signature beyond 2,000 — area ∝ time), timeline of the chosen run
(gaps visible; with several steps: the step with the most idle time, and one bar per step), time
by operator.  The images carry numbers and units only; the Markdown captions them.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from rooflens.errors import ToolMissingError
from rooflens.report.charts import (
    detail_step,
    operator_times,
    roofline_marks,
    timeline_bars,
    timeline_steps,
)
from rooflens.report_model import ReportDocument, TimelineKernel, as_document


def _pyplot() -> Any:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise ToolMissingError(
            "PNG charts need matplotlib: pip install 'rooflens[charts]'"
        ) from None
    return plt


# Axis labels: numbers and units only, the same in every language (the Markdown's caption under
# each chart says what it shows in the report's language; no CJK font is needed).
LABELS = {
    "roofline_x": "FLOP/B",
    "roofline_y": "FLOP/s",
    "timeline_x": "us",
    "operators_x": "us",
}
COLOURS = {"compute": "#d9534f", "memory": "#337ab7", "latency": "#8e8e8e"}


def _roofline(plt: Any, doc: ReportDocument, path: Path) -> bool:
    peak, bw = doc.gpu.peak_flops, doc.gpu.bandwidth_bps
    if not peak or not bw:
        return False
    points = roofline_marks(doc)
    ridge = peak / bw
    xs = [p.intensity for p in points] + [ridge / 100, ridge * 10]
    lo, hi = min(xs) / 2, max(xs) * 2
    fig, ax = plt.subplots(figsize=(7.5, 4.5), dpi=110)
    ax.plot([lo, ridge, hi], [bw * lo, peak, peak], color="#222", lw=2)
    longest = max((p.duration_s for p in points), default=1.0) or 1.0
    ax.scatter(
        [p.intensity for p in points],
        [p.achieved_flops_per_s for p in points],
        s=[20 + 400 * p.duration_s / longest for p in points],
        alpha=0.55,
        c=[COLOURS.get(p.bound, "#5cb85c") for p in points],
    )
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(LABELS["roofline_x"])
    ax.set_ylabel(LABELS["roofline_y"])
    ax.grid(True, which="major", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return True


def _bars(ax: Any, ks: list[TimelineKernel]) -> None:
    """One step's kernels as bars on a µs axis from its first kernel, idle time shaded."""
    t0 = min(float(k.start_s or 0.0) for k in ks)
    t1 = max(float(k.start_s or 0.0) + float(k.duration_s or 0.0) for k in ks)
    span = (t1 - t0) or 1e-9
    ax.broken_barh([(0.0, span * 1e6)], (0, 1), color="#f6d5d5")
    bars = [
        ((start - t0) * 1e6, (end - start) * 1e6)
        for start, end, _ in timeline_bars(ks, t0, span, 1000.0)
    ]
    # No edge line: a 3 us kernel on a 35 ms axis is a fraction of a pixel and must look it
    # (with edges, hundreds of them painted the step solid blue at 10 % busy).
    ax.broken_barh(bars, (0, 1), color="#337ab7", linewidth=0)
    ax.set_yticks([])
    ax.set_xlabel(LABELS["timeline_x"])


def _timeline(plt: Any, doc: ReportDocument, path: Path) -> bool:
    steps = timeline_steps(doc)
    if not steps:
        return False
    if len(steps) == 1:
        fig, ax = plt.subplots(figsize=(10, 1.8), dpi=110)
        _bars(ax, steps[0].kernels)
    else:
        fig, (ax, ov) = plt.subplots(2, 1, figsize=(10, 3.4), dpi=110)
        step = detail_step(steps)
        assert step is not None
        _bars(ax, step.kernels)
        t0 = steps[0].start_s
        ov.broken_barh(
            [((st.start_s - t0) * 1e6, (st.end_s - st.start_s) * 1e6) for st in steps],
            (0, 1), color="#f6d5d5",
        )  # fmt: skip
        ov.broken_barh(
            [((st.start_s - t0) * 1e6, st.busy_s * 1e6) for st in steps], (0, 1),
            color="#337ab7", linewidth=0,
        )  # fmt: skip
        ov.set_yticks([])
        # A whole run spans seconds: plain µs with thousands separators, not a "1e6" offset.
        ov.xaxis.set_major_formatter(plt.FuncFormatter(lambda x, _: f"{x:,.0f}"))
        ov.set_xlabel(LABELS["timeline_x"])
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return True


def _operators(plt: Any, doc: ReportDocument, path: Path) -> bool:
    rows = operator_times(doc)
    if not rows:
        return False
    names = [r[0] for r in rows][::-1]
    fig, ax = plt.subplots(figsize=(7.5, 0.3 * len(rows) + 1), dpi=110)
    ax.barh(names, [r[1] * 1e6 for r in rows][::-1], color="#337ab7")
    ax.barh(names, [(r[2] or 0.0) * 1e6 for r in rows][::-1], fill=False, edgecolor="#d9534f")
    ax.set_xlabel(LABELS["operators_x"])
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return True


def write_charts(doc: ReportDocument | Mapping[str, Any], out_dir: str | Path) -> list[Path]:
    """Write roofline.png, timeline.png, operators.png (those the data allows) into ``out_dir``."""
    doc = as_document(doc)
    plt = _pyplot()
    out = Path(out_dir)
    written = []
    for name, draw in (
        ("roofline.png", _roofline),
        ("timeline.png", _timeline),
        ("operators.png", _operators),
    ):
        if draw(plt, doc, out / name):
            written.append(out / name)
    return written
