"""Attainable time: what the calibrated GPU achieves at each operator's shape, and the host side.

The ideal roofline (:mod:`rooflens.predict.roofline`) asks how fast the work *could* go; the
attainable time asks how fast this GPU *does* go at this shape with the kernels eager PyTorch
launches, from a calibration file (:mod:`rooflens.hardware.calibration`, measured by
microbenchmarks only — never fitted to a capture).  Per operator:

- GEMMs (ops with ``gemm`` = (M, N, K)): the calibrated GEMM time at that shape;
- attention (flash/SDPA): the calibrated SDPA time at batch, heads, head size and keys;
- memory-bound operators: the kernels eager PyTorch launches for them (:data:`EAGER_PLAN`, data:
  kind of kernel and bytes as a multiple of the operator's ideal bytes), each timed from the
  calibrated throughput curve of that kind at its size — so a small operator costs at least
  its kernels' shortest times;
- anything else: the ideal time, never less than one shortest kernel.

An attainable time is never below the ideal one, except where the operator's bytes fit in L2
(then the row says ``l2_resident`` and the report says so).  All times are seconds.

The host side (:func:`run_timeline`) simulates one run of the built-in workload: the host
spends the calibrated seconds per eager call (and per CUDA-graph replay), the device runs each
kernel when both it and its launch are ready; the run's window is the later of the two ends and
the predicted bubble ratio is 1 − Σ kernel time / window.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rooflens.hardware import GPU
from rooflens.hardware.calibration import Calibration
from rooflens.model.architecture import Architecture
from rooflens.predict import ops as g
from rooflens.predict.workload import Workload

#: Eager PyTorch kernels per memory-bound operator (the built-in workload, capture/workload.py):
#: (calibrated kind, bytes as a multiple of the operator's ideal bytes).  ``rope`` lists the
#: kernels of one tensor (q or k) as multiples of that tensor's share of the bytes.
EAGER_PLAN: dict[str, tuple[tuple[str, float], ...]] = {
    "attn_norm": (("rms_norm", 1.0),),
    "mlp_norm": (("rms_norm", 1.0),),
    "final_norm": (("rms_norm", 1.0),),
    "q_a_norm": (("rms_norm", 1.0),),
    "kv_a_norm": (("rms_norm", 1.0),),
    "attn_residual": (("add", 1.0),),
    "mlp_residual": (("add", 1.0),),
    # SiLU(gate) reads and writes T·i (2/3 of the ideal 3·T·i), then gate·up reads 2, writes 1
    "act": (("silu", 2.0 / 3.0), ("mul", 1.0)),
    # q·cos, −x[half:], cat, rot·sin, sum: 2 + 1 + 2 + 2 + 3 element passes over the ideal 2
    "rope": (("mul", 1.0), ("neg", 0.5), ("cat", 1.0), ("mul", 1.0), ("add", 1.5)),
    # two strided copies (K and V), each reading and writing half the ideal bytes twice over
    "kv_cache_write": (("copy", 1.0), ("copy", 1.0)),
    "embedding": (("embedding", 1.0),),
    "qk_norm": (("rms_norm", 1.0),),
    # argmax over the logits (a reduction), then the copy of b token ids (the shortest kernel)
    "sampling": (("rms_norm", 1.0), ("add", 0.0)),
}

#: Host calls per operator in the built-in workload: (calibrated host kind, calls).  Every
#: operator also pushes and pops one NVTX range.  Views cost ``view``.
EAGER_CALLS: dict[str, tuple[tuple[str, float], ...]] = {
    "embedding": (("embedding", 1),),
    "attn_norm": (("rms_norm", 1),),
    "mlp_norm": (("rms_norm", 1),),
    "final_norm": (("rms_norm", 1),),
    "qkv_proj": (("mm", 1), ("view", 7)),  # split, 3 views, 3 transposes
    "rope": (("add", 10), ("view", 6)),
    "kv_cache_write": (("slice_copy", 2),),
    "attention": (("sdpa", 1), ("view", 4)),
    "o_proj": (("mm", 1),),
    "attn_residual": (("add", 1),),
    "mlp_residual": (("add", 1),),
    "gate_up_proj": (("mm", 1),),
    "act": (("add", 2), ("view", 1)),
    "down_proj": (("mm", 1),),
    "lm_head": (("mm", 1), ("view", 1)),
    "qk_norm": (("rms_norm", 2), ("view", 2)),
    "sampling": (("add", 2),),
}

#: The step's tail when the prediction has no ``sampling`` operator: argmax + copy of the ids.
SAMPLE_KERNELS = 2
LAYER_RANGES = 1  # the Layer[i]#Run[j] range per layer


@dataclass(frozen=True)
class OpTime:
    """Attainable seconds of one operator instance per step (array over decode steps or a
    float), its eager kernel count, and whether it beat the ideal time because it fits in L2."""

    time_s: g.Num
    kernels: int
    l2_resident: bool = False


def _dtype_for_gemm(dtype: str) -> str:
    return "fp8" if dtype in ("fp8", "int8") else dtype


def _memory_time(
    op: g.Op, dm: g.Dims, cal: Calibration, plan: tuple[tuple[str, float], ...]
) -> tuple[g.Num, int]:
    if op.name == "rope":
        fq = dm.heads / (dm.heads + dm.kv_heads)
        shares = (fq, 1.0 - fq)
    else:
        shares = (1.0,)
    total: g.Num = 0.0
    for share in shares:
        for kind, mult in plan:
            total = total + cal.memory_time(kind, np.asarray(op.bytes, dtype=float) * mult * share)
    return total, len(plan) * len(shares)


def op_time(
    op: g.Op, st: g.Step, dm: g.Dims, dtype: str, cal: Calibration, gpu: GPU, eager_attention: bool
) -> OpTime:
    """Attainable seconds of one instance of ``op`` per step (module docstring)."""
    peak = gpu.peak(op.dtype or dtype)
    ideal_c = np.asarray(op.flops, dtype=float) / peak
    ideal = np.maximum(ideal_c, np.asarray(op.bytes, dtype=float) / gpu.bandwidth_bps)
    t: g.Num | None = None
    kernels = 1
    if op.gemm is not None:
        m, n, k = op.gemm
        t = cal.gemm_time(_dtype_for_gemm(op.dtype or dtype), m, n, k)
    elif op.name == "attention" and not eager_attention and dm.d == dm.dv:
        phase = "decode" if st.decode else "prefill"
        keys = st.kv_read if st.decode else float(st.q_len)
        t = cal.attention_time(dtype if dtype in ("fp16", "bf16") else "fp16", phase,
                               st.batch, dm.heads, dm.kv_heads, dm.d, keys)  # fmt: skip
    elif op.name in EAGER_PLAN:
        t, kernels = _memory_time(op, dm, cal, EAGER_PLAN[op.name])
    if t is None:
        t = np.maximum(ideal, cal.min_kernel_s)
    t = np.asarray(t, dtype=float)
    fits = float(np.max(np.asarray(op.bytes, dtype=float))) <= cal.l2_bytes
    l2 = bool(fits and np.any(t < ideal))
    t = np.maximum(t, ideal_c) if fits else np.maximum(t, ideal)
    return OpTime(float(t) if t.ndim == 0 else t, kernels, l2)


def host_time(name: str, cal: Calibration) -> float:
    """Host seconds of one eager operator: its calls plus one NVTX range."""
    costs = cal.host.eager_call_s
    calls = EAGER_CALLS.get(name, (("add", 1),))
    return costs.get("nvtx_range", 0.0) + sum(
        costs.get(kind, costs["add"]) * n for kind, n in calls
    )


@dataclass
class _Sim:
    """Host clock ``h`` and device clock ``d`` (seconds since the run began), busy time."""

    h: float = 0.0
    d: float = 0.0
    busy: float = 0.0
    kernels: int = 0

    def eager(self, host_s: float, device_s: float, kernels: int) -> None:
        """One eager operator: its host time is spread over its kernel launches."""
        if kernels <= 0:
            self.h += host_s
            return
        for _ in range(kernels):
            self.h += host_s / kernels
            self.d = max(self.d, self.h) + device_s / kernels
        self.busy += device_s
        self.kernels += kernels

    def graph(self, host_s: float, device_s: float, kernels: int, gap_s: float) -> None:
        """One CUDA-graph replay: one host call, the kernels back to back on the device."""
        self.h += host_s
        self.d = max(self.d, self.h) + device_s + kernels * gap_s
        self.busy += device_s
        self.kernels += kernels


def _step_ops(arch: Architecture, dm: g.Dims, st: g.Step, layer_moe: list[bool]) -> list[g.Op]:
    before, after = g.model_ops(arch, dm, st)
    ops = list(before)
    for moe in layer_moe:
        ops.extend(g.layer_ops(arch, dm, st, moe))
    return ops + after


def _step_plan(
    ops: list[g.Op],
    st: g.Step,
    dm: g.Dims,
    dtype: str,
    cal: Calibration,
    gpu: GPU,
    eager_attn: bool,
) -> list[tuple[float, g.Num, int]]:
    """(host s, device s per step, kernels) per operator of one step, in launch order."""
    cache: dict[int, tuple[g.Num, int]] = {}
    plan = []
    for op in ops:
        key = id(op)
        if key not in cache:
            ot = op_time(op, st, dm, dtype, cal, gpu, eager_attn)
            cache[key] = (ot.time_s, ot.kernels)
        t, n = cache[key]
        plan.append((host_time(op.name, cal), t, n))
    return plan


def run_timeline(
    arch: Architecture, wl: Workload, layer_moe: list[bool], cal: Calibration, gpu: GPU
) -> dict[str, dict[str, float]]:
    """Predicted host time, device time, window and bubble ratio of one run (prefill + decode
    steps) of the built-in workload, eager and with decode steps replayed from CUDA graphs."""
    dm, dtype, eager_attn = (
        g.make_dims(arch, wl),
        wl.precision.compute_dtype,
        wl.attention == "eager",
    )
    input_len, decode_steps = wl.input_len, wl.decode_steps
    pre_st = g.prefill_step(arch, wl)
    pre = _step_plan(
        _step_ops(arch, dm, pre_st, layer_moe), pre_st, dm, dtype, cal, gpu, eager_attn
    )
    dec: list[tuple[float, g.Num, int]] = []
    if decode_steps:
        keys = np.arange(input_len + 1, input_len + decode_steps + 1, dtype=float)
        st = g.decode_step(arch, wl, keys)
        dec = _step_plan(_step_ops(arch, dm, st, layer_moe), st, dm, dtype, cal, gpu, eager_attn)
    costs = cal.host.eager_call_s
    per_step_host = costs.get("nvtx_range", 0.0) * (1 + LAYER_RANGES * len(layer_moe))
    has_sampling = any(op.name == "sampling" for op in g.model_ops(arch, dm, pre_st)[1])
    tail = 0 if has_sampling else SAMPLE_KERNELS
    tail_host = (2 * costs["add"] + costs.get("nvtx_range", 0.0)) if tail else 0.0
    out = {}
    for mode in ("eager", "cuda_graph"):
        sim = _Sim()
        for i in range(decode_steps + 1):
            sim.h += per_step_host
            plan = pre if i == 0 else dec
            dev = [float(t if np.ndim(t) == 0 else np.asarray(t)[i - 1]) for _, t, _ in plan]
            if i == 0 or mode == "eager":
                for (host_s, _, n), t in zip(plan, dev, strict=True):
                    sim.eager(host_s, t, n)
                sim.eager(tail_host, tail * cal.min_kernel_s, tail)
            else:
                n = sum(k for _, _, k in plan) + tail
                gap = max(0.0, cal.host.graph_kernel_s - cal.min_kernel_s)
                host = cal.host.graph_replay_host_s + costs.get("nvtx_range", 0.0)
                sim.graph(host, sum(dev) + tail * cal.min_kernel_s, n, gap)
        window = max(sim.h, sim.d)
        out[mode] = {
            "host_time_s": sim.h,
            "device_time_s": sim.busy,
            "window_s": window,
            "bubble_ratio": 1.0 - sim.busy / window if window > 0 else 0.0,
            "kernels": sim.kernels,
        }
    return out
