"""A realistic report document built by hand: an H100, one Llama-3-8B layer, prefill of 128 tokens.

The kernel list follows what one HF eager decoder layer launched on the GPU machine (GPU.md:
~41 kernels, Σ kernel time ≈ 0.3 ms in a ≈ 0.95 ms NVTX range, launch-bound).  One kernel
name is ``<script>alert(1)</script>`` and one holds a ``|`` so escaping is exercised.
Figures are derived here from first principles (REPORT_SPEC formulas), not by rooflens.
"""

from __future__ import annotations

from typing import Any

PEAK = 989.4e12  # H100 SXM dense FP16 tensor FLOP/s
BW = 3.35e12  # H100 SXM HBM3 bytes/s
T, HID, INTER, NH, NKV, HD = 128, 4096, 14336, 32, 8, 128
A = 2  # bytes per fp16 element

SCRIPT_NAME = "<script>alert(1)</script>"
NVTX_SCRIPT_NAME = 'Layer[0]#Run[0]<script>alert("nvtx")</script>'  # a warm-up run's NVTX name
PIPE_NAME = "void at::native::reduce|kernel<512, 1>(int)"

# (name, operator, duration in us, flops, dram bytes, grid, block)
_GEMM = "nvjet_hsh_128x256_64x4_2x1_v_bz_coopA_TNN"
_EW = "void at::native::vectorized_elementwise_kernel<(int)4, at::native::{}>(int, T2, T3)"


def _linear(n_in: int, n_out: int) -> tuple[float, float]:
    """FLOPs 2·T·in·out and minimum bytes in·out·w + T·in·a + T·out·a (REPORT_SPEC)."""
    return 2.0 * T * n_in * n_out, float(n_in * n_out * A + T * n_in * A + T * n_out * A)


QKV = _linear(HID, (NH + 2 * NKV) * HD)
OPROJ = _linear(HID, HID)
GATE_UP = _linear(HID, 2 * INTER)
DOWN = _linear(INTER, HID)
ATTN_FLOPS = 4.0 * NH * HD * (T * (T + 1) / 2)  # QKᵀ + PV over s(s+1)/2 keys per head
ATTN_BYTES = float(2 * T * NH * HD * A + T * NKV * HD * 2 * A)
NORM_BYTES = float(2 * T * HID * A)


def _norm_kernels(op: str) -> list[tuple[str, str, float, float, float]]:
    """HF eager RMSNorm: cast up, pow, mean, rsqrt, mul, cast down, mul weight (7 kernels)."""
    n = T * HID
    return [
        (_EW.format("direct_copy_kernel_cuda"), op, 2.1, 0.0, n * 6.0),
        (_EW.format("pow_tensor_scalar_kernel"), op, 2.4, float(n), n * 8.0),
        (
            PIPE_NAME if op == "attn_norm" else "void at::native::reduce_kernel<512, 1>(mean)",
            op,
            3.0,
            float(n),
            n * 4.0,
        ),
        (_EW.format("rsqrt_kernel_cuda"), op, 1.6, float(T), T * 8.0),
        (_EW.format("mul_kernel_cuda"), op, 2.5, float(n), n * 12.0),
        (_EW.format("direct_copy_kernel_cuda_half"), op, 2.0, 0.0, n * 6.0),
        (_EW.format("mul_kernel_cuda_weight"), op, 2.2, float(n), n * 6.0),
    ]


def kernel_specs() -> list[tuple[str, str, float, float, float]]:
    """(name, operator, duration us, flops, dram bytes) of the 40 kernels, launch order."""
    rope_n = T * (NH + NKV) * HD
    ks: list[tuple[str, str, float, float, float]] = []
    ks += _norm_kernels("attn_norm")
    ks += [(_GEMM, "qkv_proj", 28.0, QKV[0], QKV[1] * 1.1)]
    ks += [(_EW.format("neg_kernel_cuda"), "rope", 1.9, float(rope_n) / 2, rope_n * 2.0)]
    ks += [(_EW.format("mul_rope_cos"), "rope", 2.0, float(rope_n), rope_n * 6.0)]
    ks += [(_EW.format("mul_rope_sin"), "rope", 2.0, float(rope_n), rope_n * 6.0)]
    ks += [(_EW.format("add_rope"), "rope", 2.0, float(rope_n), rope_n * 6.0)]
    ks += [(SCRIPT_NAME, "rope", 1.8, 0.0, rope_n * 4.0)]
    ks += [
        (
            "void at::native::index_elementwise_kernel<128, 4, index_put_kernel_impl>(long, T3)",
            "kv_cache_write",
            3.1,
            0.0,
            T * NKV * HD * A * 2.0,
        )
    ]
    ks += [
        (
            "void at::native::index_elementwise_kernel<128, 4, index_put_kernel_impl>(long, T3)",
            "kv_cache_write",
            3.2,
            0.0,
            T * NKV * HD * A * 2.0,
        )
    ]
    ks += [(_EW.format("direct_copy_kernel_cuda_contig"), "copy", 4.5, 0.0, T * NH * HD * A * 2.0)]
    ks += [
        (
            "pytorch_flash::flash_fwd_kernel<Flash_fwd_kernel_traits<128, 128, 64, 4>, true>(Flash_fwd_params)",
            "attention",
            24.0,
            ATTN_FLOPS,
            ATTN_BYTES * 1.3,
        )
    ]
    ks += [
        (_EW.format("direct_copy_kernel_cuda_transpose"), "copy", 3.8, 0.0, T * NH * HD * A * 2.0)
    ]
    ks += [(_GEMM, "o_proj", 14.0, OPROJ[0], OPROJ[1] * 1.1)]
    ks += [
        (
            _EW.format("CUDAFunctor_add<c10::Half>"),
            "attn_residual",
            2.3,
            float(T * HID),
            NORM_BYTES * 1.5,
        )
    ]
    ks += _norm_kernels("mlp_norm")
    ks += [
        (
            "nvjet_hsh_192x128_64x5_1x2_h_bz_coopB_TNT",
            "gate_up_proj",
            92.0,
            GATE_UP[0],
            GATE_UP[1] * 1.05,
        )
    ]
    ks += [(_EW.format("silu_kernel"), "act", 4.0, 5.0 * T * INTER, T * INTER * A * 2.0)]
    ks += [(_EW.format("mul_kernel_cuda_act"), "act", 4.2, float(T * INTER), T * INTER * A * 3.0)]
    ks += [(_GEMM, "down_proj", 48.0, DOWN[0], DOWN[1] * 1.05)]
    ks += [
        (
            _EW.format("CUDAFunctor_add<c10::Half>"),
            "mlp_residual",
            2.3,
            float(T * HID),
            NORM_BYTES * 1.5,
        )
    ]
    return ks


def _finding(
    rule: str, metric: str, value: float, threshold: float, severity: str
) -> dict[str, Any]:
    return {"rule": rule, "source": "rooflens", "severity": severity, "message": rule,
            "estimated_speedup": None, "metric": metric, "value": value, "threshold": threshold}  # fmt: skip


def roofline_rules(k: dict[str, Any]) -> list[dict[str, Any]]:
    """The per-kernel rules rooflens.analysis.kernels fires, written out by hand: roof fraction
    < 20 % far_from_roof (else < 50 % below_roof), both SOL % < 60 latency_bound, L2 hit < 50 %
    low_l2_hit, achieved / theoretical occupancy < 0.5 low_occupancy."""
    out = []
    roof = k["roof_fraction"]
    if roof < 0.2:
        out.append(_finding("far_from_roof", "roof_fraction", roof, 0.2, "high"))
    elif roof < 0.5:
        out.append(_finding("below_roof", "roof_fraction", roof, 0.5, "medium"))
    sol = max(k["sm_throughput_pct"], k["memory_throughput_pct"])
    if sol < 60.0:
        out.append(_finding("latency_bound", "max_sol_pct", sol, 60.0, "medium"))
    if k["l2_hit_pct"] < 50.0:
        out.append(_finding("low_l2_hit", "l2_hit_pct", k["l2_hit_pct"], 50.0, "low"))
    occ = k["achieved_occupancy_pct"] / k["theoretical_occupancy_pct"]
    if occ < 0.5:
        out.append(_finding("low_occupancy", "occupancy_ratio", occ, 0.5, "medium"))
    return out


def _kernel_block(
    i: int, spec: tuple[str, str, float, float, float], start_s: float, total_s: float
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(timeline kernel, NCU kernel) for one spec; NCU-derived fields from the hand formulas."""
    name, op, dur_us, flops, dram = spec
    dur = dur_us * 1e-6
    short = name.split("(")[0].split("<")[0].replace("void ", "") or name
    tl = {
        "index": i,
        "name": name,
        "short_name": short,
        "start_s": start_s,
        "duration_s": dur,
        "share": dur / total_s,
        "grid": [132, 1, 1],
        "block": [128, 1, 1],
        "registers_per_thread": 32,
        "stream": 7,
        "operator": op,
        "phase": "prefill",
        "layer": 0,
    }
    gemm = op.endswith("proj")
    attainable = min(PEAK, BW * flops / dram) if dram and flops else None
    achieved = flops / dur if flops else 0.0
    ncu = {
        "index": i,
        "name": name,
        "short_name": short,
        "duration_s": dur,
        "ncu_duration_s": dur * 1.2,
        "dram_bytes": dram,
        "flops": flops,
        "dram_bandwidth_bps": dram / dur,
        "achieved_flops_per_s": achieved,
        "intensity": flops / dram if dram else None,
        "sm_throughput_pct": 88.0 if gemm else 22.0,
        "memory_throughput_pct": 45.0 if gemm else 35.0,
        "dram_throughput_pct": 100.0 * dram / dur / BW,
        "l1_hit_pct": 0.0 if gemm else 30.0,
        "l2_hit_pct": 40.0 if op == "attention" else 70.0,
        "achieved_occupancy_pct": 12.0 if gemm or op == "attention" else 60.0,
        "theoretical_occupancy_pct": 12.5 if gemm else 50.0 if op == "attention" else 100.0,
        "registers_per_thread": 168 if gemm else 32,
        "bound": "compute" if gemm else "latency",
        "roof_fraction": max(flops / PEAK, dram / BW) / dur,
        "operator": op,
        "findings": [],
    }
    if attainable is not None:
        ncu["attainable_flops_per_s"] = attainable
    ncu["findings"].extend(roofline_rules(ncu))
    if gemm:
        ncu["findings"].append(
            {
                "rule": "TheoreticalOccupancy",
                "source": "ncu",
                "severity": "medium",
                "message": "Theoretical occupancy is limited by registers <regs>.",
                "estimated_speedup": 0.125,
            }
        )
    return tl, ncu


def synthetic_parts() -> dict[str, Any]:
    """header, gpu, prediction, timeline, kernels, measured as rooflens's stages would hand them over."""
    specs = kernel_specs()
    total_s = sum(s[2] for s in specs) * 1e-6
    gap_s = 15e-6  # eager launch gap between kernels
    range_start = 1.0
    t = range_start + 40e-6
    tl_kernels, ncu_kernels = [], []
    for i, spec in enumerate(specs):
        tk, nk = _kernel_block(i, spec, t, total_s)
        tl_kernels.append(tk)
        ncu_kernels.append(nk)
        t += spec[2] * 1e-6 + gap_s
    last_end = t - gap_s
    range_end = last_end + 30e-6
    window = range_end - range_start
    n = len(specs)
    chosen = {
        "name": "Layer[0]#Run[2]",
        "range_duration_s": range_end - range_start,
        "kernel_count": n,
        "kernel_time_s": total_s,
        "gpu_busy_s": total_s,
        "window_s": window,
        "bubble_ratio": 1.0 - total_s / window,
        "inter_kernel_bubble_ratio": 1.0 - total_s / (last_end - (range_start + 40e-6)),
        "host_bound_gap_s": gap_s * (n - 1),
        "other_gap_s": 0.0,
    }
    warm = dict(
        chosen,
        name=NVTX_SCRIPT_NAME,
        range_duration_s=0.263,
        window_s=0.263,
        bubble_ratio=1.0 - total_s * 3 / 0.263,
        kernel_time_s=total_s * 3,
        gpu_busy_s=total_s * 3,
        host_bound_gap_s=0.2,
        other_gap_s=0.263 - total_s * 3 - 0.2,
        inter_kernel_bubble_ratio=0.99,
    )
    timeline = {
        "source": "nsys",
        "chosen_run": "Layer[0]#Run[2]",
        "runs": [warm, chosen],
        "kernels": tl_kernels,
    }
    flops = sum(s[3] for s in specs)
    dram = sum(s[4] for s in specs)
    measured = {
        "kernel_time_s": total_s,
        "flops": flops,
        "dram_bytes": dram,
        "achieved_flops_per_s": flops / total_s,
        "achieved_bandwidth_bps": dram / total_s,
        "intensity": flops / dram,
        "sm_efficiency_pct": sum((88.0 if s[1].endswith("proj") else 22.0) * s[2] for s in specs)
        / sum(s[2] for s in specs),
        "compute_utilization": flops / total_s / PEAK,
        "memory_utilization": dram / total_s / BW,
        "bound": "compute",
    }
    header = {
        "model": "llama-3-8b",
        "batch_size": 1,
        "input_len": T,
        "output_len": 1,
        "precision": "W16A16KV16",
        "layers": 1,
        "attention": "flash",
        "tp": 1,
        "capture_command": "rooflens profile --model llama-3-8b --layers 1 --input-len 128",
        "notes": ["--layers 1: the model is restricted to 1 of 32 layers"],
    }
    gpu = {
        "spec_key": "nvidia_H100_SXM5_80G",
        "detected_name": "NVIDIA H100 80GB HBM3",
        "peak_flops": PEAK,
        "bandwidth_bps": BW,
        "mismatch_warning": None,
    }
    return {
        "header": header,
        "gpu": gpu,
        "prediction": synthetic_prediction(),
        "timeline": timeline,
        "kernels": ncu_kernels,
        "measured": measured,
    }


def _op(name: str, phase: str, layer: int | None, flops: float, nbytes: float) -> dict[str, Any]:
    ct, mt = flops / PEAK, nbytes / BW
    return {
        "name": name,
        "phase": phase,
        "layer": layer,
        "count": 1,
        "flops": flops,
        "bytes": nbytes,
        "intensity": flops / nbytes if nbytes else 0.0,
        "compute_time_s": ct,
        "memory_time_s": mt,
        "time_s": max(ct, mt),
        "bound": "compute" if ct >= mt else "memory",
    }


PREDICTED_PREFILL: dict[str, tuple[float, float]] = {
    "attn_norm": (4.0 * T * HID, NORM_BYTES + HID * A),
    "qkv_proj": QKV,
    "rope": (3.0 * T * (NH + NKV) * HD, 2.0 * T * (NH + NKV) * HD * A),
    "kv_cache_write": (0.0, float(T * NKV * HD * 2 * A)),
    "attention": (ATTN_FLOPS + 5.0 * NH * T * (T + 1) / 2, ATTN_BYTES),
    "o_proj": OPROJ,
    "attn_residual": (float(T * HID), 3.0 * T * HID * A),
    "mlp_norm": (4.0 * T * HID, NORM_BYTES + HID * A),
    "gate_up_proj": GATE_UP,
    "act": (5.0 * T * INTER, 3.0 * T * INTER * A),
    "down_proj": DOWN,
    "mlp_residual": (float(T * HID), 3.0 * T * HID * A),
}


def synthetic_prediction() -> dict[str, Any]:
    """Prefill and one decode step of the layer, plus the per-model ops (outside the measured scope)."""
    ops = [_op(n, "prefill", 0, f, b) for n, (f, b) in PREDICTED_PREFILL.items()]
    ops += [
        _op("embedding", "prefill", None, 0.0, T * HID * A * 2.0),
        _op("final_norm", "prefill", None, 4.0 * T * HID, NORM_BYTES),
        _op("lm_head", "prefill", None, 2.0 * HID * 128256, HID * 128256 * A + HID * A),
    ]
    ops += [
        _op("qkv_proj", "decode", 0, QKV[0] / T, QKV[1]),
        _op("down_proj", "decode", 0, DOWN[0] / T, DOWN[1]),
    ]

    def phase(rows: list[dict[str, Any]], steps: int | None = None) -> dict[str, Any]:
        f, b, tm = (
            sum(r["flops"] for r in rows),
            sum(r["bytes"] for r in rows),
            sum(r["time_s"] for r in rows),
        )
        out = {
            "flops": f,
            "bytes": b,
            "intensity": f / b if b else 0.0,
            "time_s": tm,
            "bound": "compute"
            if sum(r["time_s"] for r in rows if r["bound"] == "compute") > tm / 2
            else "memory",
            "performance_flops": f / tm if tm else 0.0,
        }
        if steps is not None:
            out["steps"] = steps
        return out

    prefill = [o for o in ops if o["phase"] == "prefill"]
    decode = [o for o in ops if o["phase"] == "decode"]
    zero = {
        "flops": 0.0,
        "bytes": 0.0,
        "intensity": 0.0,
        "time_s": 0.0,
        "bound": "memory",
        "performance_flops": 0.0,
        "steps": 0,
    }
    return {
        "phases": {
            "prefill": phase(prefill),
            "decode_first_token": phase(decode),
            "decode_total": zero,
            "overall": phase(prefill),
        },
        "operators": ops,
    }


# One decoder layer as a whole-model run launches it (fused norm, one rope kernel, …):
# (name, operator, duration us).  Durations are made up but fixed, so every figure the tests
# check is a hand sum of these.
_LAYER = (
    ("fused_add_rms_norm_kernel", "attn_norm", 3.0),
    (_GEMM, "qkv_proj", 20.0),
    ("rotary_embedding_kernel", "rope", 2.0),
    ("reshape_and_cache_flash_kernel", "kv_cache_write", 2.0),
    ("flash_fwd_splitkv_kernel", "attention", 8.0),
    (_GEMM, "o_proj", 12.0),
    ("fused_add_rms_norm_kernel", "mlp_norm", 3.0),
    (_GEMM, "gate_up_proj", 40.0),
    ("act_and_mul_kernel", "act", 4.0),
    (_GEMM, "down_proj", 25.0),
    ("cublasLt::splitKreduce_kernel", "down_proj", 2.0),
    ("elementwise_kernel_add", "mlp_residual", 1.5),
    ("elementwise_kernel_add", "attn_residual", 1.5),
    ("vectorized_elementwise_kernel_copy", "copy", 1.0),
    ("triton_poi_fused_0", "other", 1.0),
)


def whole_model_parts(layers: int = 32, steps: int = 64, gap_s: float = 2e-6) -> dict[str, Any]:
    """A whole-model run: ``layers`` layers × ``steps`` steps (prefill + decode[1..]) of
    :data:`_LAYER`, every kernel with NCU counters (as propagated from representative launches).

    32 × 64 × 15 = 30,720 kernels.  Built by hand, like :func:`synthetic_parts`.
    """
    base = synthetic_parts()
    tl_kernels, ncu_kernels = [], []
    t = 1.0
    total_s = layers * steps * sum(d for _, _, d in _LAYER) * 1e-6
    for step in range(steps):
        phase = "prefill" if step == 0 else f"decode[{step}]"
        scale = 4.0 if step == 0 else 1.0
        for layer in range(layers):
            if step == steps - 1 and layer == layers // 2:
                t += 50e-6  # a host stall in the middle of the last step: its bubbles stand out
            for name, op, dur_us in _LAYER:
                i = len(tl_kernels)
                dur = dur_us * 1e-6 * (scale if step == 0 else 1.0)
                tl_kernels.append({
                    "index": i, "name": name, "short_name": name.split("<")[0], "start_s": t,
                    "duration_s": dur, "share": dur / total_s, "grid": [132, 1, 1],
                    "block": [128, 1, 1], "operator": op, "phase": phase, "layer": layer,
                })  # fmt: skip
                flops = 400e12 * dur if op.endswith("proj") else 0.5e12 * dur
                dram = 3e12 * dur
                ncu_kernels.append({
                    "index": i, "timeline_index": i, "name": name,
                    "short_name": name.split("<")[0], "duration_s": dur, "ncu_duration_s": dur,
                    "dram_bytes": dram, "flops": flops, "dram_bandwidth_bps": dram / dur,
                    "achieved_flops_per_s": flops / dur, "intensity": flops / dram,
                    "sm_throughput_pct": 30.0, "memory_throughput_pct": 80.0,
                    "dram_throughput_pct": 80.0, "l1_hit_pct": 10.0, "l2_hit_pct": 60.0,
                    "achieved_occupancy_pct": 40.0, "theoretical_occupancy_pct": 50.0,
                    "registers_per_thread": 64, "bound": "memory",
                    "roof_fraction": max(flops / PEAK, dram / BW) / dur, "operator": op,
                    "findings": [],
                })  # fmt: skip
                t += dur + gap_s
        t += 200e-6  # between steps: the host samples and launches the next step
    window = t - 1.0
    busy = sum(k["duration_s"] for k in tl_kernels)
    run = {
        "name": "Run[1]", "range_duration_s": window, "kernel_count": len(tl_kernels),
        "kernel_time_s": busy, "gpu_busy_s": busy, "window_s": window,
        "bubble_ratio": 1 - busy / window, "inter_kernel_bubble_ratio": 1 - busy / window,
        "host_bound_gap_s": window - busy, "other_gap_s": 0.0,
    }  # fmt: skip
    header = dict(base["header"], layers=layers, output_len=steps, notes=[])
    return dict(
        base,
        header=header,
        timeline={"source": "nsys", "chosen_run": "Run[1]", "runs": [run], "kernels": tl_kernels},
        kernels=ncu_kernels,
        measured=dict(base["measured"], kernel_time_s=busy),
    )
