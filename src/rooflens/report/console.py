"""Console renderings: the Rich tables the commands print, beside the file renderers.

``rooflens analyze`` prints the measured part of a report document (runs, kernels, NCU figures:
:func:`print_analysis`), ``rooflens predict`` a prediction (:func:`print_prediction`) and
``rooflens hardware`` the GPU table (:func:`print_gpus`, :func:`gpu_lines`).  The commands
parse options, call the pipeline and one of these.  Every table fits 80 columns (a terminal's
default, and what a pipe gets): no vertical rules; numbers never wrap or get cut (their columns
are ``no_wrap``), names fold onto more lines instead.  Rich is imported here only, off the
prediction and analysis paths.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from rich import box
from rich.console import Console
from rich.table import Table

from rooflens.report_model import (
    NcuKernel,
    ReportDocument,
    RunFigures,
    Timeline,
    TimelineKernel,
    as_document,
)
from rooflens.units import (
    fmt_bandwidth,
    fmt_bytes,
    fmt_duration,
    fmt_flops_rate,
    fmt_pct,
    fmt_scaled,
    sig3,
)

if TYPE_CHECKING:
    from rooflens.hardware import GPU as GpuSpec
    from rooflens.predict import Prediction

MAX_RUN_ROWS = 40  # a long session has thousands of runs: the table shows the first and last ones
MAX_KERNEL_ROWS = 2000
# Text columns that get room first (a kernel name folds onto lines of at least this width).
_MIN_WIDTH = {"run": 8, "kernel": 16, "findings": 20}


def compact_table(title: str) -> Table:
    """A table that fits 80 columns: no vertical rules, no outer padding."""
    return Table(
        title=title, box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False, collapse_padding=True
    )


def _columns(t: Table, cols: tuple[str, ...], text: tuple[str, ...]) -> None:
    """Number columns right-aligned and never cut; ``text`` columns left-aligned and folded."""
    for col in cols:
        if col in text:
            t.add_column(col, overflow="fold", min_width=_MIN_WIDTH.get(col))
        else:
            t.add_column(col, justify="right", no_wrap=True)


def _elide(rows: Sequence[Any], most: int) -> list[Any]:
    """``rows`` when short; else the first few, ``None`` (a "… more" marker) and the last ones."""
    if len(rows) <= most:
        return list(rows)
    head = most // 4
    return [*rows[:head], None, *rows[len(rows) - (most - head) :]]


def _clip(name: str | None, width: int = 80) -> str:
    """A name shortened for a table cell (the JSON keeps it whole)."""
    name = name or ""
    return name if len(name) <= width else name[: width - 1] + "…"


def _n(x: float | None, fmt: Any = sig3) -> str:
    return "n/a" if x is None else str(fmt(x))


def _t(x: float | None) -> str:
    return _n(x, fmt_duration)


# ---- rooflens analyze ------------------------------------------------------------------------


def runs_table(tl: Timeline) -> Table:
    t = compact_table(
        f"Runs ({tl.source}: {tl.path}); chosen: {tl.chosen_run}; ×n: NVTX instances; "
        "bubble / inter: bubble ratio of the window / between kernels; gaps: host-bound / other"
    )
    cols = ("run", "range", "kern.", "Σ kern.", "busy", "bubble", "inter", "host", "other")
    _columns(t, cols, ("run",))
    rows: list[RunFigures | None] = [tl.overview, *_elide(tl.runs, MAX_RUN_ROWS)]
    for r in rows:
        if r is None:
            t.add_row(f"… {len(tl.runs) - MAX_RUN_ROWS} more runs (all in --json)", *[""] * 8)
            continue
        name = f"{r.name}" + (f" ×{r.instances}" if r.instances != 1 else "")
        t.add_row(name, _t(r.range_duration_s), str(r.kernel_count), _t(r.kernel_time_s),
                  _t(r.gpu_busy_s), _n(r.bubble_ratio, fmt_pct), _n(r.inter_kernel_bubble_ratio, fmt_pct),
                  _t(r.host_bound_gap_s), _t(r.other_gap_s))  # fmt: skip
    return t


def _dims(d: list[int] | None) -> str:
    return "×".join(map(str, d or ()))


def kernels_table(tl: Timeline) -> Table:
    """The chosen run's kernels; numbers count from 1 (#1 = the first kernel), as in every report."""
    t = compact_table(f"Kernels of {tl.chosen_run} (launch order, #1 first)")
    _columns(t, ("#", "kernel", "duration", "share", "grid/block", "operator", "phase"),
             ("kernel", "grid/block", "operator", "phase"))  # fmt: skip
    ks: list[TimelineKernel | None] = _elide(tl.kernels, MAX_KERNEL_ROWS)
    for k in ks:
        if k is None:
            t.add_row("…", f"{len(tl.kernels) - MAX_KERNEL_ROWS} more kernels (all in --json)",
                      *[""] * 5)  # fmt: skip
            continue
        t.add_row(str((k.index or 0) + 1), _clip(k.short_name), _t(k.duration_s), _n(k.share, fmt_pct),
                  f"{_dims(k.grid)} {_dims(k.block)}", k.operator or "", k.phase or "")  # fmt: skip
    return t


def _number(k: NcuKernel) -> str:
    """An NCU kernel's 1-based number: its timeline kernel's, else its NCU position."""
    i = k.timeline_index
    return str(((k.index or 0) if i is None else i) + 1)


def ncu_tables(kernels: Sequence[NcuKernel]) -> list[Table]:
    """NCU per kernel in two tables (roofline figures; counters and findings), each < 80 columns."""
    roof = compact_table("NCU per kernel: roofline figures")
    _columns(roof, ("#", "kernel", "duration", "FLOP/s", "DRAM", "FLOP/B", "bound", "roof"),
             ("kernel", "bound"))  # fmt: skip
    counters = compact_table("NCU per kernel: counters (%) and findings")
    _columns(counters, ("#", "SM", "mem", "L1", "L2", "occ.", "regs", "findings"), ("findings",))
    for k in kernels:
        found = "; ".join(f"{f.rule} ({f.severity})" for f in k.findings)
        occ = f"{_n(k.achieved_occupancy_pct)}/{_n(k.theoretical_occupancy_pct)}"
        roof.add_row(_number(k), _clip(k.short_name), _t(k.duration_s),
                     _n(k.achieved_flops_per_s, fmt_flops_rate), _n(k.dram_bandwidth_bps, fmt_bandwidth),
                     _n(k.intensity), k.bound or "n/a", _n(k.roof_fraction, fmt_pct))  # fmt: skip
        counters.add_row(_number(k), _n(k.sm_throughput_pct), _n(k.memory_throughput_pct),
                         _n(k.l1_hit_pct), _n(k.l2_hit_pct), occ, _n(k.registers_per_thread),
                         found)  # fmt: skip
    return [roof, counters]


def measured_line(doc: ReportDocument) -> str:
    m = doc.measured
    if m is None:
        return "Measured: n/a"
    return (
        f"Measured: SM efficiency {_n(m.sm_efficiency_pct)}%, bandwidth {_n(m.achieved_bandwidth_bps, fmt_bandwidth)}, "
        f"intensity {_n(m.intensity)} FLOP/B, compute {_n(m.achieved_flops_per_s, fmt_flops_rate)}, "
        f"bound {m.bound or 'n/a'}; utilisation: compute {_n(m.compute_utilization, fmt_pct)}, "
        f"memory {_n(m.memory_utilization, fmt_pct)}; Σ {_t(m.kernel_time_s)}, "
        f"{_n(m.flops)} FLOP, {_n(m.dram_bytes, fmt_bytes)}"
    )  # fmt: skip


def print_analysis(doc: ReportDocument | Mapping[str, Any], console: Console) -> None:
    """The measured part of a report document (``rooflens analyze``) as Rich tables."""
    doc = as_document(doc)
    g = doc.gpu
    console.print(f"GPU: {g.detected_name or 'unknown'} → {g.spec_key or 'no spec'}")
    for w in [g.mismatch_warning, *((doc.timeline.warnings if doc.timeline else None) or [])]:
        if w:
            console.print(f"warning: {w}")
    if doc.timeline is not None:
        console.print(runs_table(doc.timeline))
        console.print(kernels_table(doc.timeline))
    if doc.kernels is not None:
        for table in ncu_tables(doc.kernels):
            console.print(table)
        console.print(measured_line(doc))


# ---- rooflens predict ------------------------------------------------------------------------


def phase_table(pred: Prediction) -> Table:
    """One row per phase: time, FLOPs, bytes, intensity, performance, bound."""
    from rooflens.predict import PHASES

    wl = pred.workload
    title = (
        f"{pred.arch.name} on {pred.gpu.key} · {wl.precision.label} · b={wl.batch} "
        f"s={wl.input_len} n={wl.output_len} · layers={pred.layers} · tp={wl.tp}"
    )
    table = compact_table(title)
    for col in ("phase", "time", "FLOPs", "bytes", "FLOP/B", "FLOP/s", "bound"):
        table.add_column(
            col, justify="left" if col in ("phase", "bound") else "right", no_wrap=True
        )
    for name in PHASES:
        ph = pred.phases[name]
        label = f"{name} ×{ph.steps}" if name == "decode_total" else name
        table.add_row(
            label, fmt_duration(ph.time_s), fmt_scaled(ph.flops, "FLOP"), fmt_bytes(ph.bytes), sig3(ph.intensity),
            fmt_flops_rate(ph.performance_flops), ph.bound or "-",
        )  # fmt: skip
    return table


def operator_table(pred: Prediction, phase: str) -> Table:
    """Operator rows of one phase (totals over the layers each stands for)."""
    table = compact_table(f"{phase} operators (totals over the layers counted)")
    for col in ("operator", "layers", "FLOPs", "bytes", "FLOP/B", "time", "bound"):
        left = col in ("operator", "bound")
        table.add_column(col, justify="left" if left else "right", no_wrap=True)
    for r in pred.operators:
        if r.phase == phase:
            table.add_row(
                r.name, str(r.count), fmt_scaled(r.flops, "FLOP"), fmt_bytes(r.bytes),
                sig3(r.intensity), fmt_duration(r.time_s), r.bound,
            )  # fmt: skip
    return table


def attainable_lines(pred: Prediction) -> list[str]:
    """Calibrated attainable time per phase and the predicted bubble ratio of one run of the
    built-in workload (docs/calibration.md); nothing without a calibration."""
    if pred.calibration is None:
        return []
    att = ", ".join(
        f"{name} {fmt_duration(pred.phases[name].attainable_time_s or 0.0)}"
        for name in ("prefill", "decode_first_token", "decode_total")
        if pred.phases[name].time_s
    )
    lines = [f"attainable (calibrated): {att}"]
    rt = pred.run_timeline or {}
    eager, graph = rt.get("eager") or {}, rt.get("cuda_graph") or {}
    if eager and graph:
        lines.append(
            f"predicted bubble ratio of one run: eager {_bubble(eager)}, "
            f"CUDA-graph decode {_bubble(graph)} (host costs: {rt.get('host_costs')})"
        )
    nsys = rt.get("under_nsys") or {}
    if nsys:
        lines.append(
            f"  under nsys (as `rooflens run` captures it): eager "
            f"{_bubble(nsys['eager'])}, CUDA-graph decode {_bubble(nsys['cuda_graph'])}"
        )
    if any(e.get("bubble_ratio_range") for e in (eager, graph)):
        lines.append("  (in brackets: the fastest to the slowest host process during calibration)")
    return lines


def _bubble(est: dict[str, Any]) -> str:
    rng = est.get("bubble_ratio_range")
    text = f"{est['bubble_ratio']:.0%}"
    return f"{text} ({rng[0]:.0%}–{rng[1]:.0%})" if rng else text


def print_prediction(pred: Prediction, show_ops: bool, console: Console | None = None) -> None:
    """A prediction (``rooflens predict``): phases, optionally operators, peaks, notes."""
    console = console or Console()
    console.print(phase_table(pred))
    if show_ops:
        for phase in ("prefill", "decode_first_token"):
            console.print(operator_table(pred, phase))
    console.print(
        f"peak {fmt_flops_rate(pred.peak_flops)} ({pred.workload.precision.compute_dtype}), "
        f"DRAM {fmt_bytes(pred.gpu.bandwidth_bps)}/s; weights {fmt_bytes(pred.weight_bytes)}, "
        f"KV cache {fmt_bytes(pred.kv_cache_bytes)} per GPU"
    )
    for line in attainable_lines(pred):
        console.print(line)
    for note in pred.notes:
        console.print(f"note: {note}")


# ---- rooflens hardware -----------------------------------------------------------------------


def gpu_table(gpus: Sequence[GpuSpec], dtypes: Sequence[str]) -> Table:
    """The GPU table: dense tensor peaks in TFLOP/s, DRAM TB/s and GB, L2 MB, SMs, link GB/s."""
    table = compact_table(
        "GPUs: dense tensor peaks in TFLOP/s (fp32 = CUDA cores; bf16 = fp16); "
        "DRAM TB/s and GB; L2 MB; interconnect (link) GB/s"
    )
    shown = [d for d in dtypes if d != "bf16"]  # bf16 peaks equal fp16 peaks on every card
    table.add_column("key", no_wrap=True, overflow="fold")
    for col in (*shown, "TB/s", "GB", "L2", "SMs", "link"):
        table.add_column(col, justify="right", no_wrap=True, overflow="fold")
    for g in gpus:
        peaks = [sig3(g.peak_flops[d] / 1e12) if d in g.peak_flops else "-" for d in shown]
        table.add_row(
            g.key, *peaks, sig3(g.bandwidth_bps / 1e12), sig3(g.memory_bytes / 1e9),
            sig3(g.l2_bytes / 2**20), str(g.sm_count), sig3(g.interconnect_bps / 1e9),
        )  # fmt: skip
    return table


def print_gpus(gpus: Sequence[GpuSpec], dtypes: Sequence[str]) -> None:
    """The GPU table at the terminal's width, at least 80 columns."""
    Console(width=max(80, Console().width)).print(gpu_table(gpus, dtypes))


def gpu_lines(g: GpuSpec) -> list[str]:
    """One GPU with the source of every number (``rooflens hardware NAME``)."""
    lines = [f"{g.key}: {g.name}", f"  aliases: {', '.join(g.aliases)}"]
    lines += [f"  peak {dtype}: {fmt_flops_rate(peak)}" for dtype, peak in g.peak_flops.items()]
    lines.append(
        f"  DRAM bandwidth: {fmt_bandwidth(g.bandwidth_bps)}; memory {fmt_bytes(g.memory_bytes)}"
    )
    lines.append(
        f"  L2: {g.l2_bytes / 2**20:g} MiB; SMs: {g.sm_count}; interconnect {fmt_bandwidth(g.interconnect_bps)}"
    )
    lines += [f"  source of {field}: {source}" for field, source in g.sources.items()]
    return lines
