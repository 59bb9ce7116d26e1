"""PNG charts for the Markdown report (matplotlib, the optional ``charts`` extra, imported lazily).

Same three charts as the HTML page, from the same report.json data: roofline (log-log, one
point per kernel, area ∝ time), timeline of the chosen run (gaps visible), time by operator.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rooflens.errors import ToolMissingError
from rooflens.report.charts import operator_times, roofline_points


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


def _roofline(plt: Any, doc: dict[str, Any], path: Path) -> bool:
    gpu = doc.get("gpu") or {}
    peak, bw = gpu.get("peak_flops"), gpu.get("bandwidth_bps")
    if not peak or not bw:
        return False
    points, _ = roofline_points(doc)
    ridge = peak / bw
    xs = [p["intensity"] for p in points] + [ridge / 100, ridge * 10]
    lo, hi = min(xs) / 2, max(xs) * 2
    fig, ax = plt.subplots(figsize=(7.5, 4.5), dpi=110)
    ax.plot([lo, ridge, hi], [bw * lo, peak, peak], color="#222", lw=2)
    longest = max((float(p.get("duration_s") or 0.0) for p in points), default=1.0) or 1.0
    colours = {"compute": "#d9534f", "memory": "#337ab7", "latency": "#8e8e8e"}
    for p in points:
        size = 20 + 400 * float(p.get("duration_s") or 0.0) / longest
        ax.scatter(
            p["intensity"],
            p["achieved_flops_per_s"],
            s=size,
            alpha=0.55,
            color=colours.get(p.get("bound") or "", "#5cb85c"),
        )
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("arithmetic intensity (FLOP/B)")
    ax.set_ylabel("FLOP/s")
    ax.grid(True, which="major", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return True


def _timeline(plt: Any, doc: dict[str, Any], path: Path) -> bool:
    ks = [
        k for k in (doc.get("timeline") or {}).get("kernels") or [] if k.get("start_s") is not None
    ]
    if not ks:
        return False
    t0 = min(k["start_s"] for k in ks)
    fig, ax = plt.subplots(figsize=(10, 1.8), dpi=110)
    t1 = max(k["start_s"] + k["duration_s"] for k in ks)
    ax.broken_barh([(0.0, (t1 - t0) * 1e6)], (0, 1), color="#f6d5d5")
    bars = [((k["start_s"] - t0) * 1e6, k["duration_s"] * 1e6) for k in ks]
    ax.broken_barh(bars, (0, 1), color="#337ab7")
    ax.set_yticks([])
    ax.set_xlabel("us since the first kernel (pink: GPU idle)")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return True


def _operators(plt: Any, doc: dict[str, Any], path: Path) -> bool:
    rows = operator_times(doc)
    if not rows:
        return False
    names = [r[0] for r in rows][::-1]
    fig, ax = plt.subplots(figsize=(7.5, 0.3 * len(rows) + 1), dpi=110)
    ax.barh(names, [r[1] * 1e6 for r in rows][::-1], color="#337ab7", label="measured")
    ax.barh(
        names,
        [(r[2] or 0.0) * 1e6 for r in rows][::-1],
        fill=False,
        edgecolor="#d9534f",
        label="predicted",
    )
    ax.set_xlabel("us")
    ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return True


def write_charts(doc: dict[str, Any], out_dir: str | Path) -> list[Path]:
    """Write roofline.png, timeline.png, operators.png (those the data allows) into ``out_dir``."""
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
