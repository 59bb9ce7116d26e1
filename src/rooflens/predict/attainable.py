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
from typing import Any

import numpy as np
import numpy.typing as npt

from rooflens.hardware import GPU
from rooflens.hardware.calibration import Calibration, HostCosts
from rooflens.model.architecture import Architecture
from rooflens.predict import ops as g
from rooflens.predict.workload import Workload

#: Eager operators measured as the workload calls them (capture/calibrate_eager.py): operator →
#: (calibrated eager kind, bytes as a multiple of the operator's ideal bytes, kernels) per call.
#: ``rope`` and ``kv_cache_write`` call once per tensor (q and k, K and V): see :func:`_calls`.
EAGER_KINDS: dict[str, tuple[str, float, int]] = {
    "attn_norm": ("rms_norm", 1.0, 1),
    "mlp_norm": ("rms_norm", 1.0, 1),
    "final_norm": ("rms_norm", 1.0, 1),
    "qk_norm": ("rms_norm", 1.0, 1),
    "q_a_norm": ("rms_norm", 1.0, 1),
    "kv_a_norm": ("rms_norm", 1.0, 1),
    "layer_norm": ("layer_norm", 1.0, 1),  # any norm of a LayerNorm model (Op.kernels_as)
    "attn_residual": ("add", 1.0, 1),
    "mlp_residual": ("add", 1.0, 1),
    "act": ("act", 1.0, 2),  # SiLU(gate), gate·up
    "act_plain": ("gelu", 1.0, 1),  # one activation kernel over the up projection's output
    "rope": ("rope", 1.0, 5),  # x·cos, −x[half:], cat, rot·sin, sum — per tensor
    "kv_cache_write": ("kv_write", 1.0, 1),  # per tensor
    "embedding": ("embedding", 1.0, 1),
    "sampling": ("argmax", 1.0, 1),  # argmax (the copy of the ids is a memcpy, not a kernel)
}

#: Without eager curves (older files): the kernels of each operator as (generic memory kind,
#: bytes as a multiple of the operator's ideal bytes); ``rope`` per tensor.
EAGER_PLAN: dict[str, tuple[tuple[str, float], ...]] = {
    "attn_norm": (("rms_norm", 1.0),),
    "mlp_norm": (("rms_norm", 1.0),),
    "final_norm": (("rms_norm", 1.0),),
    "qk_norm": (("rms_norm", 1.0),),
    "q_a_norm": (("rms_norm", 1.0),),
    "kv_a_norm": (("rms_norm", 1.0),),
    "layer_norm": (("rms_norm", 1.0),),
    "attn_residual": (("add", 1.0),),
    "mlp_residual": (("add", 1.0),),
    "act": (("silu", 2.0 / 3.0), ("mul", 1.0)),
    "act_plain": (("silu", 1.0),),
    "rope": (("mul", 1.0), ("neg", 0.5), ("cat", 1.0), ("mul", 1.0), ("add", 1.5)),
    "kv_cache_write": (("copy", 1.0), ("copy", 1.0)),
    "embedding": (("embedding", 1.0),),
    "sampling": (("rms_norm", 1.0), ("add", 0.0)),
}

#: Host calls per operator in the built-in workload: (calibrated host kind, calls).  Every
#: operator also enters one NVTX ``marker``.  Views cost ``view``.
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
    float): queued back to back, and ``isolated`` (each kernel starting on an idle device, as in
    a launch-bound step); its eager kernel count; whether it beat the ideal time in L2."""

    time_s: g.Num
    isolated_s: g.Num
    kernels: int
    l2_resident: bool = False


def _dtype_for_gemm(dtype: str) -> str:
    return "fp8" if dtype in ("fp8", "int8") else dtype


def _shares(op: g.Op, dm: g.Dims) -> tuple[float, ...]:
    """Bytes share of each call: q and k for RoPE, K and V for the cache write, else one call."""
    if op.name == "rope":
        fq = dm.heads / (dm.heads + dm.kv_heads)
        return (fq, 1.0 - fq)
    return (0.5, 0.5) if op.name == "kv_cache_write" else (1.0,)


def _row_width(op: g.Op, dm: g.Dims) -> float | None:
    """The row width a row-wise kernel works on (norms: hidden or head size; the argmax: the
    vocabulary), for calibrations that measured several; None for the other operators."""
    if op.name in ("attn_norm", "mlp_norm", "final_norm"):
        return float(dm.h)
    if op.name == "qk_norm":
        return float(dm.d)
    return float(dm.vocab) if op.name == "sampling" else None


#: Eager kinds newer than some calibration files, and the kind such a file measured that
#: stands in for it: a LayerNorm as an RMSNorm of the same bytes (the OPT-6.7B captures' norms
#: ran ~25 % slower than that, docs/calibration.md).
OLDER_KIND = {"layer_norm": "rms_norm"}


def _eager_times(op: g.Op, dm: g.Dims, cal: Calibration) -> tuple[g.Num, g.Num, int] | None:
    """(back to back, isolated, kernels) from the eager curves, or None when not measured."""
    kind, mult, kernels = EAGER_KINDS[_plan_key(op)]
    if kind in OLDER_KIND and cal.eager_time(kind, 1.0) is None:
        kind = OLDER_KIND[kind]
    nbytes = np.asarray(op.bytes, dtype=float) * mult
    width = _row_width(op, dm)
    b2b: g.Num = 0.0
    iso: g.Num = 0.0
    shares = _shares(op, dm)
    for share in shares:
        t = cal.eager_time(kind, nbytes * share, width=width)
        ti = cal.eager_time(kind, nbytes * share, isolated=True, width=width)
        if t is None:
            return None
        b2b = b2b + t
        iso = iso + (t if ti is None else np.maximum(ti, t))
    return b2b, iso, kernels * len(shares)


def _plan_key(op: g.Op) -> str:
    """The key of ``op``'s kernel plan in :data:`EAGER_KINDS` and :data:`EAGER_PLAN`."""
    return op.kernels_as or op.name


def _memory_time(op: g.Op, dm: g.Dims, cal: Calibration) -> tuple[g.Num, int]:
    plan = EAGER_PLAN[_plan_key(op)]
    shares = (1.0,) if op.name == "kv_cache_write" else _shares(op, dm)
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
    # the compute roof, and with it the link's: neither a kernel nor a collective beats them
    ideal_c = np.maximum(np.asarray(op.flops, dtype=float) / peak,
                         op.comm_bytes / gpu.interconnect_bps)  # fmt: skip
    ideal = np.maximum(ideal_c, np.asarray(op.bytes, dtype=float) / gpu.bandwidth_bps)
    t: g.Num | None = None
    iso: g.Num | None = None
    kernels = 1
    if op.comm_bytes and dm.tp > 1:
        t = _allreduce_time(op, dm, cal)
    elif op.gemm is not None:
        m, n, k = op.gemm
        t = cal.gemm_time(_dtype_for_gemm(op.dtype or dtype), m, n, k)
    elif op.name == "attention" and not eager_attention and dm.d == dm.dv:
        phase = "decode" if st.decode else "prefill"
        keys = st.kv_read if st.decode else float(st.q_len)
        t = cal.attention_time(dtype if dtype in ("fp16", "bf16") else "fp16", phase,
                               st.batch, dm.heads, dm.kv_heads, dm.d, keys)  # fmt: skip
    elif _plan_key(op) in EAGER_KINDS:
        got = _eager_times(op, dm, cal)
        if got is not None:
            t, iso, kernels = got
        else:
            t, kernels = _memory_time(op, dm, cal)
    if t is None:
        t = np.maximum(ideal, cal.min_kernel_s)
    fits = float(np.max(np.asarray(op.bytes, dtype=float))) <= cal.l2_bytes
    floor = ideal_c if fits else ideal
    ta = np.asarray(t, dtype=float)
    tb = np.maximum(ta, floor)
    ti = np.maximum(np.asarray(t if iso is None else iso, dtype=float), floor)
    l2 = bool(fits and np.any(ta < ideal))
    return OpTime(_num(tb), _num(ti), kernels, l2)


def _allreduce_time(op: g.Op, dm: g.Dims, cal: Calibration) -> g.Num | None:
    """The layer's all-reduces (ops.all_reduce: two per layer) from the calibrated curve of
    ``dm.tp`` GPUs, or None (the link's roofline) when the file measured another count."""
    one = cal.allreduce_time(g.all_reduce_message_bytes(op.comm_bytes, dm.tp), dm.tp)
    return None if one is None else g.ALL_REDUCES_PER_LAYER * one


def _num(a: npt.NDArray[np.float64]) -> g.Num:
    return float(a) if a.ndim == 0 else a


def marker_s(costs: HostCosts) -> float:
    """Host seconds of one of the workload's NVTX markers (a bare NVTX range in older files)."""
    c = costs.eager_call_s
    return c.get("marker", c.get("nvtx_range", 0.0))


def host_time(name: str, costs: HostCosts) -> float:
    """Host seconds of one eager operator: as the workload's own operator measured (newer
    files), else its calls (:data:`EAGER_CALLS`) plus one NVTX marker."""
    if name in costs.op_s:
        return costs.op_s[name]
    c = costs.eager_call_s
    calls = EAGER_CALLS.get(name, (("add", 1),))
    return marker_s(costs) + sum(c.get(kind, c["add"]) * n for kind, n in calls)


def step_extra_host(costs: HostCosts, layers: int) -> float:
    """Host seconds of a step outside operators: its phase range and one range per layer, and
    (newer files) what the workload measured beyond its operators per layer and per step —
    views, splits and Python between the ranges."""
    marker = marker_s(costs)
    if costs.layer_extra_s is None or costs.step_extra_s is None:
        return marker * (1 + LAYER_RANGES * layers)
    return marker + costs.step_extra_s + costs.layer_extra_s * layers


def choose(times: list[tuple[OpTime, int]], host_s: float) -> list[g.Num]:
    """Per operator, the seconds that apply in this step: isolated where the step is
    launch-bound (host seconds > back-to-back device seconds), else back to back.
    ``times``: (op time, instances) per operator row of the step."""
    device: g.Num = 0.0
    for ot, count in times:
        device = device + np.asarray(ot.time_s) * count
    bound = np.asarray(host_s > np.asarray(device))
    return [_num(np.where(bound, ot.isolated_s, ot.time_s).astype(float)) for ot, _ in times]


@dataclass
class _Sim:
    """Host clock ``h`` and device clock ``d`` (seconds since the run began), busy time."""

    h: float = 0.0
    d: float = 0.0
    busy: float = 0.0
    kernels: int = 0

    def eager(self, step: _StepArrays, device_s: npt.NDArray[np.float64]) -> None:
        """One eager step: each operator's host time is spread over its kernel launches, and
        kernel i starts at max(device free, its launch).  Unrolled, d after the last kernel is
        max(d + Σ b, max_i (launch_i + Σ_{j≥i} b_j)) — one pass of array sums instead of a loop
        over every kernel (a 80-layer, 512-token prediction launches ~10⁶ of them per run)."""
        per = np.where(step.kernels > 0, device_s / step.per_op, 0.0)
        b = per[step.index]
        launch = self.h + np.cumsum(step.host_per_kernel)
        after = np.cumsum(b[::-1])[::-1]  # Σ_{j≥i} b_j
        cand = (launch + after)[step.real]
        self.d = max(self.d + float(b.sum()), float(cand.max()) if cand.size else -np.inf)
        self.h = float(launch[-1]) if launch.size else self.h
        self.busy += float(device_s[step.kernels > 0].sum())
        self.kernels += step.total_kernels

    def graph(self, host_s: float, device_s: float, kernels: int, gap_s: float) -> None:
        """One CUDA-graph replay: one host call, the kernels back to back on the device."""
        self.h += host_s
        self.d = max(self.d, self.h) + device_s + kernels * gap_s
        self.busy += device_s
        self.kernels += kernels


@dataclass(frozen=True)
class _StepArrays:
    """One step's operators as arrays, launch order: kernels per operator, the per-kernel
    expansion (``index``: operator of each kernel slot; an operator without kernels keeps one
    slot for its host time, ``real`` False), host seconds per slot."""

    kernels: npt.NDArray[np.int64]
    per_op: npt.NDArray[np.int64]
    index: npt.NDArray[np.int64]
    real: npt.NDArray[np.bool_]
    host_per_kernel: npt.NDArray[np.float64]
    total_kernels: int

    @classmethod
    def of(cls, hosts: list[float], kernels: list[int]) -> _StepArrays:
        k = np.asarray(kernels, dtype=np.int64)
        per_op = np.maximum(k, 1)
        index = np.repeat(np.arange(k.size), per_op)
        host = (np.asarray(hosts, dtype=float) / per_op)[index]
        return cls(k, per_op, index, (k > 0)[index], host, int(k[k > 0].sum()))


def _step_ops(arch: Architecture, dm: g.Dims, st: g.Step, layer_moe: list[bool]) -> list[g.Op]:
    before, after = g.model_ops(arch, dm, st)
    ops = list(before)
    for moe in layer_moe:
        ops.extend(g.layer_ops(arch, dm, st, moe))
    return ops + after


@dataclass(frozen=True)
class _Plan:
    """One step's operators in launch order: host seconds at the calibrated costs, op times."""

    hosts: list[float]
    times: list[OpTime]
    extra_host_s: float  # the step's host seconds outside operators

    def chosen(self, scale: float, graph: bool = False) -> list[tuple[float, g.Num, int]]:
        """(host s, device s per step, kernels) per operator with host costs × ``scale``; a
        ``graph`` replay runs its kernels back to back whatever the host does."""
        host_s = 0.0 if graph else scale * (sum(self.hosts) + self.extra_host_s)
        dev = choose([(t, 1) for t in self.times], host_s)
        return [
            (scale * h, d, t.kernels) for h, d, t in zip(self.hosts, dev, self.times, strict=True)
        ]


def _step_plan(
    ops: list[g.Op],
    st: g.Step,
    dm: g.Dims,
    dtype: str,
    cal: Calibration,
    gpu: GPU,
    eager_attn: bool,
    costs: HostCosts,
    layers: int,
) -> _Plan:
    cache: dict[int, OpTime] = {}
    for op in ops:
        if id(op) not in cache:
            cache[id(op)] = op_time(op, st, dm, dtype, cal, gpu, eager_attn)
    hosts = [host_time(op.name, costs) for op in ops]
    return _Plan(hosts, [cache[id(op)] for op in ops], step_extra_host(costs, layers))


def run_timeline(
    arch: Architecture,
    wl: Workload,
    layer_moe: list[bool],
    cal: Calibration,
    gpu: GPU,
    under_nsys: bool = False,
    measured_host_s: float | None = None,
    probe_layer_s: float | None = None,
) -> dict[str, dict[str, Any]]:
    """Predicted host time, device time, window and bubble ratio of one run (prefill + decode
    steps) of the built-in workload, eager and with decode steps replayed from CUDA graphs.

    The host's speed is a per-process draw (calibrate_host.HOST_PROCESSES): where the
    calibration measured several processes, ``bubble_ratio_range`` and ``host_time_range_s``
    are the same run at the fastest and the slowest one.  ``measured_host_s`` (a capture's run
    range on the host): ``at_run_host`` is the run with every host cost scaled by one factor so
    that the predicted host time equals it — what the model says the bubble is at that run's
    host speed, which separates a slow host from a GPU that waits for something else.
    ``probe_layer_s`` (the workload's host probe, timed in its own process just before the run):
    ``at_probed_host`` is the run with every host cost × probe / the calibration's probe — the
    prediction for that process's draw, from a microbenchmark and not from the run's timings."""
    dm, dtype, eager_attn = (
        g.make_dims(arch, wl),
        wl.precision.compute_dtype,
        wl.attention == "eager",
    )
    input_len, decode_steps = wl.input_len, wl.decode_steps
    pre_st = g.prefill_step(arch, wl)
    hc = cal.host_costs(under_nsys)
    nl = len(layer_moe)
    pre = _step_plan(
        _step_ops(arch, dm, pre_st, layer_moe), pre_st, dm, dtype, cal, gpu, eager_attn, hc, nl
    )
    dec: _Plan | None = None
    if decode_steps:
        keys = np.arange(input_len + 1, input_len + decode_steps + 1, dtype=float)
        st = g.decode_step(arch, wl, keys)
        dec = _step_plan(
            _step_ops(arch, dm, st, layer_moe), st, dm, dtype, cal, gpu, eager_attn, hc, nl
        )
    has_sampling = any(op.name == "sampling" for op in g.model_ops(arch, dm, pre_st)[1])
    tail = 0 if has_sampling else SAMPLE_KERNELS
    c = hc.eager_call_s
    tail_host = (2 * c["add"] + c.get("nvtx_range", 0.0)) if tail else 0.0

    def simulate(mode: str, scale: float) -> dict[str, Any]:
        sim = _Sim()
        steps = {"pre": pre.chosen(scale)}
        if dec:
            steps["dec"] = dec.chosen(scale, graph=mode == "cuda_graph")
        tail_row = (scale * tail_host, tail * cal.min_kernel_s, tail)
        arrays, device = {}, {}
        for name, plan in steps.items():
            rows = [*plan, tail_row]
            arrays[name] = _StepArrays.of([h for h, _, _ in rows], [n for _, _, n in rows])
            n_steps = 1 if name == "pre" else decode_steps
            device[name] = np.stack([np.broadcast_to(np.asarray(t, dtype=float).reshape(-1), (n_steps,))
                                     for _, t, _ in rows])  # fmt: skip
        gap = max(0.0, hc.graph_kernel_s - cal.min_kernel_s)
        replay_host = scale * (hc.graph_replay_host_s + 2 * marker_s(hc))
        for i in range(decode_steps + 1):
            eager = i == 0 or mode == "eager"
            # a replayed step has its phase range only: no layer ranges, no Python between them
            sim.h += scale * (pre.extra_host_s if eager else marker_s(hc))
            name, col = ("pre", 0) if i == 0 else ("dec", i - 1)
            dev = device[name][:, col]
            if eager:
                sim.eager(arrays[name], dev)
            else:
                sim.graph(replay_host, float(dev.sum()), arrays[name].total_kernels, gap)
        window = max(sim.h, sim.d)
        return {
            "host_time_s": sim.h,
            "device_time_s": sim.busy,
            "window_s": window,
            "bubble_ratio": 1.0 - sim.busy / window if window > 0 else 0.0,
            "kernels": sim.kernels,
        }

    out = {}
    for mode in ("eager", "cuda_graph"):
        est = simulate(mode, 1.0)
        if hc.spread is not None:
            ends = [simulate(mode, f) for f in hc.spread]
            est["host_time_range_s"] = [e["host_time_s"] for e in ends]
            est["bubble_ratio_range"] = sorted(e["bubble_ratio"] for e in ends)
        if probe_layer_s and hc.probe_layer_s:
            scale = probe_layer_s / hc.probe_layer_s
            at = simulate(mode, scale)
            est["at_probed_host"] = {"host_scale": scale, "bubble_ratio": at["bubble_ratio"],
                                     "host_time_s": at["host_time_s"],
                                     "window_s": at["window_s"]}  # fmt: skip
        if measured_host_s and est["host_time_s"]:
            scale = measured_host_s / est["host_time_s"]
            at = simulate(mode, scale)
            est["at_run_host"] = {"host_scale": scale, "bubble_ratio": at["bubble_ratio"],
                                  "window_s": at["window_s"]}  # fmt: skip
        out[mode] = est
    return out
