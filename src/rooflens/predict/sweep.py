"""Sweeps: one prediction per (batch, input_len, output_len), flattened into CSV-ready rows."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from itertools import product

from rooflens.hardware import GPU
from rooflens.model.architecture import Architecture
from rooflens.predict.precision import Precision
from rooflens.predict.prediction import PHASES, Prediction, predict_output_lens
from rooflens.predict.workload import AttentionKind, Workload

PHASE_FIELDS = ("time_s", "flops", "bytes", "intensity", "performance_flops", "bound")
COLUMNS: tuple[str, ...] = (
    "model", "gpu", "precision", "batch", "input_len", "output_len", "layers", "attention", "tp",
    "decode_steps",
    *(f"{p}_{f}" for p in PHASES for f in PHASE_FIELDS),
    "weight_bytes", "kv_cache_bytes",
)  # fmt: skip


def row(pred: Prediction) -> dict[str, object]:
    """One CSV row: the configuration, every phase's figures (SI units) and the memory needs."""
    wl = pred.workload
    out: dict[str, object] = {
        "model": pred.arch.name,
        "gpu": pred.gpu.key,
        "precision": wl.precision.label,
        "batch": wl.batch,
        "input_len": wl.input_len,
        "output_len": wl.output_len,
        "layers": pred.layers,
        "attention": wl.attention,
        "tp": wl.tp,
        "decode_steps": wl.decode_steps,
    }
    for name in PHASES:
        ph = pred.phases[name]
        values = (ph.time_s, ph.flops, ph.bytes, ph.intensity, ph.performance_flops, ph.bound)
        out.update({f"{name}_{f}": v for f, v in zip(PHASE_FIELDS, values, strict=True)})
    out["weight_bytes"] = pred.weight_bytes
    out["kv_cache_bytes"] = pred.kv_cache_bytes
    return out


def sweep(
    arch: Architecture,
    gpu: GPU,
    precision: Precision,
    batches: Sequence[int],
    input_lens: Sequence[int],
    output_lens: Sequence[int],
    layers: int | None = None,
    attention: AttentionKind = "flash",
    tp: int = 1,
) -> Iterator[dict[str, object]]:
    """Rows for every combination, batch-major; workloads are validated before the first row.

    The output lengths of one (batch, input length) share its prefill and first decode step.
    """
    combos: Iterable[tuple[int, int, int]] = product(batches, input_lens, output_lens)
    for b, s, n in combos:
        Workload(b, s, n, precision, layers, attention, tp)
    for b, s in product(batches, input_lens):
        base = Workload(b, s, output_lens[0], precision, layers, attention, tp)
        for pred in predict_output_lens(arch, gpu, base, output_lens):
            yield row(pred)
