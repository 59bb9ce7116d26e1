"""``predict(arch, gpu, workload) -> Prediction``: every operator of every phase on the roofline.

Phases: ``prefill`` (s tokens per sequence), ``decode_first_token`` (decode step 1: the cache
holds the s prompt tokens and the new token attends s + 1 keys), ``decode_total`` (the exact sum
over the n − 1 decode steps, step i attending s + i keys; empty when n = 1) and ``overall``
(prefill + decode_total).  Figures are per GPU (tensor parallelism splits the work).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from rooflens.errors import RooflensError
from rooflens.hardware import GPU
from rooflens.hardware.calibration import Calibration, HostCosts
from rooflens.model.architecture import Architecture
from rooflens.predict import ops as g
from rooflens.predict.attainable import choose, host_time, op_time, run_timeline, step_extra_host
from rooflens.predict.roofline import OpResult, PhaseFigures, evaluate, phase_figures
from rooflens.predict.workload import Workload

PHASES = ("prefill", "decode_first_token", "decode_total", "overall")
LayerGroup = tuple[int, int, bool]  # (first layer index, number of layers, routed experts?)


@dataclass(frozen=True)
class Prediction:
    """The roofline prediction: phase figures and operator rows (totals over layers)."""

    arch: Architecture
    gpu: GPU
    workload: Workload
    layers: int
    phases: dict[str, PhaseFigures]
    operators: list[OpResult]
    weight_bytes: float
    kv_cache_bytes: float
    notes: list[str] = field(default_factory=list)
    calibration: str | None = None  # label of the calibration behind attainable times
    run_timeline: dict[str, Any] | None = None  # predict/attainable.run_timeline

    @property
    def peak_flops(self) -> float:
        """The tensor peak used for the workload's compute dtype, FLOP/s."""
        return self.gpu.peak(self.workload.precision.compute_dtype)

    def self_check(self) -> None:
        """Invariants: phase time = Σ its operator times; bytes, FLOPs ≥ 0; no phase beats the
        compute roof (peak) or the memory roof (bandwidth × intensity) — each operator's time is
        at least its FLOPs / peak and its bytes / bandwidth, so their sums are too."""
        top_peak = max(self.gpu.peak_flops.values())
        for name in ("prefill", "decode_first_token", "decode_total"):
            ph = self.phases[name]
            rows = [r.time_s for r in self.operators if r.phase == name]
            assert abs(sum(rows) - ph.time_s) <= 1e-9 * max(ph.time_s, 1e-30), name
            assert ph.bytes >= 0 and ph.flops >= 0, name
            assert ph.performance_flops <= top_peak * (1 + 1e-9), name
            roof = self.gpu.bandwidth_bps * ph.intensity
            assert ph.performance_flops <= roof * (1 + 1e-9) or not ph.bytes, name

    def to_dict(self) -> dict[str, object]:
        """The ``prediction`` section of report.json (docs/report-json.md), SI units."""
        return {
            "phases": {name: self.phases[name].to_dict() for name in PHASES},
            "operators": [r.to_dict() for r in self.operators],
            "layers": self.layers,
            "compute_dtype": self.workload.precision.compute_dtype,
            "peak_flops": self.peak_flops,
            "bandwidth_bps": self.gpu.bandwidth_bps,
            "interconnect_bps": self.gpu.interconnect_bps,
            "weight_bytes": self.weight_bytes,
            "kv_cache_bytes": self.kv_cache_bytes,
            "memory_bytes": self.gpu.memory_bytes,
            "notes": list(self.notes),
            "calibration": self.calibration,
            "run_timeline": self.run_timeline,
        }


def layer_groups(arch: Architecture, layers: int) -> list[LayerGroup]:
    """Consecutive runs of identical layers among the first ``layers`` (dense vs MoE)."""
    groups: list[LayerGroup] = []
    for i in range(layers):
        moe = arch.is_moe_layer(i)
        if groups and groups[-1][2] == moe:
            first, count, _ = groups[-1]
            groups[-1] = (first, count + 1, moe)
        else:
            groups.append((i, 1, moe))
    return groups


def _equal(x: g.Num, y: g.Num) -> bool:
    if isinstance(x, float) and isinstance(y, float):
        return x == y
    return bool(np.array_equal(x, y))


def _same(a: g.Op, b: g.Op) -> bool:
    """Same work per instance (then two layer groups share one operator row)."""
    return (
        a.name == b.name
        and _equal(a.flops, b.flops)
        and _equal(a.bytes, b.bytes)
        and (a.comm_bytes == b.comm_bytes)
    )


def _merged_layer_ops(
    arch: Architecture, dm: g.Dims, st: g.Step, groups: list[LayerGroup]
) -> list[tuple[g.Op, int, int]]:
    """(op, first layer, count): identical operators of different layer groups merged."""
    if len(groups) == 1:
        first, count, moe = groups[0]
        return [(op, first, count) for op in g.layer_ops(arch, dm, st, moe)]
    merged: list[tuple[g.Op, int, int]] = []
    by_name: dict[str, list[int]] = {}
    for first, count, moe in groups:
        for op in g.layer_ops(arch, dm, st, moe):
            for idx in by_name.get(op.name, ()):
                seen, layer, n = merged[idx]
                if _same(seen, op):
                    merged[idx] = (seen, layer, n + count)
                    break
            else:
                by_name.setdefault(op.name, []).append(len(merged))
                merged.append((op, first, count))
    return merged


def _phase_rows(
    arch: Architecture,
    dm: g.Dims,
    gpu: GPU,
    wl: Workload,
    st: g.Step,
    groups: list[LayerGroup],
    phase: str,
    steps: int,
    cal: Calibration | None = None,
    host: HostCosts | None = None,
) -> list[OpResult]:
    """Operator rows of one phase; with a calibration, attainable times too, isolated where the
    step is launch-bound on ``host`` costs (None: a CUDA-graph replay, back to back)."""
    dtype = wl.precision.compute_dtype
    before, after = g.model_ops(arch, dm, st)
    placed: list[tuple[g.Op, int | None, int]] = [(op, None, 1) for op in before]
    placed += _merged_layer_ops(arch, dm, st, groups)
    placed += [(op, None, 1) for op in after]
    rows = [evaluate(op, gpu, dtype, phase, layer, count, steps) for op, layer, count in placed]
    if cal is None:
        return rows
    times = [(op_time(op, st, dm, dtype, cal, gpu, wl.attention == "eager"), count)
             for op, _, count in placed]  # fmt: skip
    host_s = 0.0
    if host is not None:
        host_s = sum(host_time(op.name, host) * count for op, _, count in placed)
        host_s += step_extra_host(host, sum(n for _, n, _ in groups))
    out = []
    for row, (ot, count), t in zip(rows, times, choose(times, host_s), strict=True):
        total = float(np.sum(t)) if np.ndim(t) else float(t) * steps
        out.append(replace(row, attainable_time_s=total * count, l2_resident=ot.l2_resident))
    return out


def model_weight_bytes(arch: Architecture, dm: g.Dims, layers: int) -> float:
    """Weights resident on one GPU (tied embeddings counted once), bytes."""
    hq, r, h = dm.heads, arch.kv_lora_rank, dm.h
    if arch.is_mla:
        rope, nope, dv, qr = (
            arch.qk_rope_head_dim,
            arch.qk_nope_head_dim,
            arch.v_head_dim,
            arch.q_lora_rank,
        )
        q = (
            g.weight_bytes(dm, h, qr) + g.weight_bytes(dm, qr, hq * (nope + rope))
            if qr
            else g.weight_bytes(dm, h, hq * (nope + rope))
        )
        attn = q + g.weight_bytes(dm, h, r + rope) + g.weight_bytes(dm, r, hq * (nope + dv))
        attn += g.weight_bytes(dm, hq * dv, h)
    else:
        attn = g.weight_bytes(dm, h, (hq + 2 * dm.kv_heads) * dm.d) + g.weight_bytes(
            dm, hq * dm.dv, h
        )
    dense = (3 if arch.mlp == "gated" else 2) * g.weight_bytes(dm, h, dm.inter)
    moe = arch.num_experts * 3 * g.weight_bytes(dm, h, dm.moe_inter) + 3 * g.weight_bytes(
        dm, h, dm.shared_inter
    )
    moe += h * arch.num_experts * dm.head_w
    total = sum(attn + (moe if arch.is_moe_layer(i) else dense) for i in range(layers))
    embed = dm.vocab * h * dm.head_w
    pos = arch.max_position * h * dm.head_w if arch.position == "learned" else 0.0
    return total + embed * (1 if arch.tie_word_embeddings else 2) + pos


def kv_cache_bytes(arch: Architecture, dm: g.Dims, wl: Workload, layers: int) -> float:
    """KV cache at the end of generation (s + n − 1 positions, capped by a sliding window)."""
    positions = wl.input_len + wl.output_len - 1
    if arch.sliding_window:
        positions = min(positions, arch.sliding_window)
    if arch.is_mla:
        row = (arch.kv_lora_rank + arch.qk_rope_head_dim) * dm.kv
    else:
        row = dm.kv_heads * (dm.d + dm.dv) * dm.kv
    return float(layers * wl.batch * positions * row)


def _notes(
    arch: Architecture, gpu: GPU, wl: Workload, layers: int, weights: float, kv: float
) -> list[str]:
    notes = []
    if layers != arch.num_layers:
        notes.append(
            f"--layers {layers}: the model is restricted to {layers} of {arch.num_layers} layers"
        )
    if wl.tp > 1:
        notes.append(f"--tp {wl.tp}: figures are per GPU; all_reduce is timed on the interconnect")
    if arch.is_mla:
        notes.append(
            "MLA: prefill decompresses K/V (kv_b_proj); decode attends over the latent cache with kv_b_proj absorbed"
        )
    positions = wl.input_len + wl.output_len - 1
    if positions > arch.max_position:
        notes.append(
            f"{positions} positions exceed the model's max_position_embeddings ({arch.max_position})"
        )
    if weights + kv > gpu.memory_bytes:
        notes.append(
            f"weights + KV cache ({(weights + kv) / 1e9:.3g} GB) exceed the GPU memory ({gpu.memory_bytes / 1e9:.3g} GB)"
        )
    return notes


def predict(
    arch: Architecture,
    gpu: GPU,
    workload: Workload,
    calibration: Calibration | None = None,
    calibration_note: str | None = None,
    under_nsys: bool = False,
    cuda_graph: bool = False,
    measured_host_s: float | None = None,
    probe_layer_s: float | None = None,
) -> Prediction:
    """Roofline prediction of ``workload`` for model ``arch`` on one ``gpu`` (per GPU under TP);
    with a ``calibration``, attainable times and the predicted run timeline too: host costs as
    measured ``under_nsys`` (a capture) or without a profiler, decode steps eager or replayed
    from CUDA graphs (``cuda_graph``); ``measured_host_s`` (a captured run's host time) adds the
    run at that host speed, ``probe_layer_s`` (the workload's host probe) the run at the probed
    host speed (attainable.run_timeline)."""
    pred = predict_output_lens(
        arch, gpu, workload, [workload.output_len], calibration, under_nsys, cuda_graph
    )[0]
    if calibration is None:
        return replace(
            pred, notes=[*pred.notes, calibration_note] if calibration_note else pred.notes
        )
    layers = pred.layers
    moe = [arch.is_moe_layer(i) for i in range(layers)]
    timeline: dict[str, Any] = {
        "host_costs": "nsys" if under_nsys and calibration.host_nsys else "no profiler",
        "decode": "cuda_graph" if cuda_graph else "eager",
        **run_timeline(
            arch, workload, moe, calibration, gpu, under_nsys, measured_host_s, probe_layer_s
        ),
    }
    if not under_nsys and calibration.host_nsys is not None:  # what a capture will see
        timeline["under_nsys"] = run_timeline(arch, workload, moe, calibration, gpu, True)
    note = calibration_note or f"calibration: {calibration.label()}"
    if any(r.l2_resident for r in pred.operators):
        note += (
            "; operators marked l2_resident fit in L2 and attain less than the DRAM roofline time"
        )
    return replace(
        pred, calibration=calibration.label(), run_timeline=timeline, notes=[*pred.notes, note]
    )


def predict_output_lens(
    arch: Architecture,
    gpu: GPU,
    workload: Workload,
    output_lens: Sequence[int],
    calibration: Calibration | None = None,
    under_nsys: bool = False,
    cuda_graph: bool = False,
) -> list[Prediction]:
    """Predictions of ``workload`` for each output length in ``output_lens``.

    The prefill and the first decode step do not depend on the output length, so they are
    evaluated once (a sweep's inner loop); ``workload.output_len`` itself is not used.
    """
    layers = workload.layers or arch.num_layers
    if layers > arch.num_layers:
        raise RooflensError(f"--layers {layers} exceeds the model's {arch.num_layers} layers")
    dtype = workload.precision.compute_dtype
    gpu.peak(dtype)
    dm = g.make_dims(arch, workload)
    groups = layer_groups(arch, layers)
    s = workload.input_len
    cal, on = calibration, calibration is not None
    pre_st = g.prefill_step(arch, workload)
    host = cal.host_costs(under_nsys) if cal is not None else None
    dec_host = None if cuda_graph else host
    pre = _phase_rows(arch, dm, gpu, workload, pre_st, groups, "prefill", 1, cal, host)
    first_step = g.decode_step(arch, workload, float(s + 1))
    first = _phase_rows(
        arch, dm, gpu, workload, first_step, groups, "decode_first_token", 1, cal, dec_host
    )
    fixed = {
        "prefill": phase_figures(pre, calibrated=on),
        "decode_first_token": phase_figures(first, calibrated=on),
    }
    weights = model_weight_bytes(arch, dm, layers)
    out = []
    for n in output_lens:
        wl = replace(workload, output_len=n)  # validates n
        steps = wl.decode_steps
        total: list[OpResult] = []
        if steps:
            keys = np.arange(s + 1, s + steps + 1, dtype=float)
            decode = g.decode_step(arch, wl, keys)
            total = _phase_rows(
                arch, dm, gpu, wl, decode, groups, "decode_total", steps, cal, dec_host
            )
        phases = {
            **fixed,
            "decode_total": phase_figures(total, steps=steps, calibrated=on),
            "overall": phase_figures(pre + total, calibrated=on),
        }
        kv = kv_cache_bytes(arch, dm, wl, layers)
        notes = _notes(arch, gpu, wl, layers, weights, kv)
        out.append(
            Prediction(arch, gpu, wl, layers, phases, pre + first + total, weights, kv, notes)
        )
    return out
