"""Rich tables for `rooflens predict` (imported only when a table is printed)."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from rooflens.predict import PHASES, Prediction
from rooflens.units import fmt_bytes, fmt_duration, fmt_flops_rate, fmt_scaled, sig3


def phase_table(pred: Prediction) -> Table:
    """One row per phase: time, FLOPs, bytes, intensity, performance, bound."""
    wl = pred.workload
    title = (
        f"{pred.arch.name} on {pred.gpu.key} · {wl.precision.label} · b={wl.batch} "
        f"s={wl.input_len} n={wl.output_len} · layers={pred.layers} · tp={wl.tp}"
    )
    table = Table(title=title)
    for col in ("phase", "time", "FLOPs", "bytes", "FLOP/byte", "performance", "bound"):
        left = col in ("phase", "bound")
        table.add_column(col, justify="left" if left else "right", no_wrap=col == "phase")
    for name in PHASES:
        ph = pred.phases[name]
        label = f"{name} ({ph.steps} steps)" if name == "decode_total" else name
        table.add_row(
            label, fmt_duration(ph.time_s), fmt_scaled(ph.flops, "FLOP"), fmt_bytes(ph.bytes), sig3(ph.intensity),
            fmt_flops_rate(ph.performance_flops), ph.bound or "-",
        )  # fmt: skip
    return table


def operator_table(pred: Prediction, phase: str) -> Table:
    """Operator rows of one phase (totals over the layers each stands for)."""
    table = Table(title=f"{phase} operators (totals over the layers counted)")
    for col in ("operator", "layers", "FLOPs", "bytes", "FLOP/byte", "time", "bound"):
        left = col in ("operator", "bound")
        table.add_column(col, justify="left" if left else "right", no_wrap=col == "operator")
    for r in pred.operators:
        if r.phase == phase:
            table.add_row(
                r.name, str(r.count), fmt_scaled(r.flops, "FLOP"), fmt_bytes(r.bytes),
                sig3(r.intensity), fmt_duration(r.time_s), r.bound,
            )  # fmt: skip
    return table


def print_prediction(pred: Prediction, show_ops: bool) -> None:
    """Print the phase table (and the operator table), then the notes."""
    console = Console()
    console.print(phase_table(pred))
    if show_ops:
        for phase in ("prefill", "decode_first_token"):
            console.print(operator_table(pred, phase))
    gpu = pred.gpu
    console.print(
        f"peak {fmt_flops_rate(pred.peak_flops)} ({pred.workload.precision.compute_dtype}), "
        f"DRAM {fmt_bytes(gpu.bandwidth_bps)}/s; weights {fmt_bytes(pred.weight_bytes)}, "
        f"KV cache {fmt_bytes(pred.kv_cache_bytes)} per GPU"
    )
    for note in pred.notes:
        console.print(f"note: {note}")
