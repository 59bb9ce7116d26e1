"""NCU counters → per-kernel roofline figures and findings (REPORT_SPEC 一 "Measured" and 三).

Nsight Compute replays kernels and serialises them, so its counters (bytes, FLOPs, hit rates,
SOL %) are trusted and its durations are not: when a timeline is given, each NCU kernel is
joined to a kernel of the chosen run by order and name, and the nsys/Kineto duration is used
for every rate.  Metric names come from the versioned ``traces/ncu_metrics.toml``.
All inputs and outputs are SI (seconds, bytes, FLOP, bytes/s, FLOP/s); ``*_pct`` are percent.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rooflens.analysis.counters import join_by_path, propagate
from rooflens.analysis.runs import TimelineAnalysis
from rooflens.hardware.match import Roof
from rooflens.traces.metrics import metric_map
from rooflens.traces.model import NcuKernel, NcuKernels
from rooflens.traces.names import short_kernel_name
from rooflens.vocab import operator_of_range

LATENCY_PCT = 60.0  # both SOL figures below this: latency bound (REPORT_SPEC 一)

# rooflens rules: (rule, figure, comparison, threshold, severity, message). Data, not branches.
RULES: tuple[tuple[str, str, str, float, str, str], ...] = (
    ("far_from_roof", "roof_fraction", "<", 0.2, "high", "achieves under 20% of its roofline at its intensity"),
    ("below_roof", "roof_fraction", "<", 0.5, "medium", "achieves under half of its roofline at its intensity"),
    ("latency_bound", "max_sol_pct", "<", LATENCY_PCT, "medium", "neither compute nor memory is busy: too little parallelism or launch latency"),
    ("low_l2_hit", "l2_hit_pct", "<", 50.0, "low", "L2 hit rate is low: data is re-fetched from DRAM"),
    ("low_occupancy", "occupancy_ratio", "<", 0.5, "medium", "achieved occupancy is under half the theoretical"),
)  # fmt: skip


def figure(metrics: dict[str, float], key: str) -> float | None:
    """The first present metric of figure ``key`` (SI), or ``None``."""
    for name in metric_map()["figures"][key]:
        if name in metrics:
            return metrics[name]
    return None


def tensor_flops_by_dtype(metrics: dict[str, float]) -> dict[str, float]:
    """Tensor-core FLOPs per dtype (only dtypes with a counter present)."""
    out: dict[str, float] = {}
    for dtype, alternatives in metric_map()["flops"]["tensor"].items():
        for names in alternatives:
            present = [metrics[n] for n in names if n in metrics]
            if present:
                out[dtype] = float(sum(present))
                break
    return out


def cuda_core_flops(metrics: dict[str, float]) -> float | None:
    """CUDA-core FLOPs: Σ factor × thread instructions (add/mul 1, fma 2); None when no counter was collected."""
    total, seen = 0.0, False
    for op in metric_map()["flops"]["cuda_core"].values():
        name = next((n for n in op["names"] if n in metrics), None)
        if name is not None:
            total += float(op["factor"]) * metrics[name]
            seen = True
    return total if seen else None


def kernel_flops(metrics: dict[str, float]) -> float | None:
    """Tensor-core FLOPs (ops counters count 2 per FMA) + CUDA-core FLOPs; None when neither was collected."""
    tensor = tensor_flops_by_dtype(metrics)
    cuda = cuda_core_flops(metrics)
    if not tensor and cuda is None:
        return None
    return float(sum(tensor.values())) + (cuda or 0.0)


def dram_bytes(metrics: dict[str, float]) -> float | None:
    """DRAM bytes read + written (or the total counter when only that was collected)."""
    r, w = figure(metrics, "dram_read_bytes"), figure(metrics, "dram_write_bytes")
    if r is not None and w is not None:
        return r + w
    return figure(metrics, "dram_bytes")


def classify_bound(sm_pct: float | None, mem_pct: float | None) -> str | None:
    """compute if SM SOL ≥ memory SOL, else memory; latency when both are under 60%."""
    if sm_pct is None or mem_pct is None:
        return None
    if sm_pct < LATENCY_PCT and mem_pct < LATENCY_PCT:
        return "latency"
    return "compute" if sm_pct >= mem_pct else "memory"


def roof_fraction(
    flops: float | None, nbytes: float | None, duration_s: float, roof: Roof | None
) -> float | None:
    """Achieved / attainable at the kernel's intensity; for FLOP-free kernels, bandwidth / peak bandwidth."""
    if roof is None or nbytes is None or duration_s <= 0:
        return None
    if flops is None or flops == 0:
        return nbytes / duration_s / roof.bandwidth_bps
    attainable = (
        min(roof.peak_flops, flops / nbytes * roof.bandwidth_bps) if nbytes > 0 else roof.peak_flops
    )
    return flops / duration_s / attainable


@dataclass
class KernelFigures:
    """One NCU kernel's figures (the ``kernels[]`` entry of docs/report-json.md)."""

    index: int
    name: str
    short_name: str
    duration_s: float
    ncu_duration_s: float | None
    timeline_index: int | None
    dram_bytes: float | None
    flops: float | None
    dram_bandwidth_bps: float | None
    achieved_flops_per_s: float | None
    intensity: float | None
    sm_throughput_pct: float | None
    memory_throughput_pct: float | None
    dram_throughput_pct: float | None
    l1_hit_pct: float | None
    l2_hit_pct: float | None
    achieved_occupancy_pct: float | None
    theoretical_occupancy_pct: float | None
    registers_per_thread: float | None
    bound: str | None
    roof_fraction: float | None
    operator: str | None
    nvtx: list[str] = field(default_factory=list)
    findings: list[dict[str, Any]] = field(default_factory=list)
    #: ``measured`` by ncu, or ``propagated``/``scaled`` from the measured launch ``counters_from``
    #: (rooflens.analysis.counters).
    counters: str = "measured"
    counters_from: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain dict, ``None`` for what was not measured."""
        return dict(self.__dict__)


def _div(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b not in (None, 0) else None


def _ncu_findings(k: NcuKernel) -> list[dict[str, Any]]:
    """NCU's own rule results that suggest work (optimisations, warnings, errors)."""
    out = []
    for r in k.rules:
        if r.kind not in ("optimization", "warning", "error"):
            continue
        sp = r.estimated_speedup_pct
        # Only a "global" estimate speaks of the kernel's runtime; a "local" one of the section's metric.
        runtime_sp = sp if r.speedup_type != "local" else None
        sev = (
            "high"
            if (runtime_sp or 0) >= 20
            else "medium"
            if (runtime_sp or 0) >= 5 or r.kind != "optimization"
            else "low"
        )
        out.append({"rule": r.rule, "source": "ncu", "severity": sev, "message": r.message,
                    "estimated_speedup": sp / 100 if sp is not None else None,
                    "speedup_type": r.speedup_type,
                    "metric": r.focus_metric, "value": r.focus_value,
                    "threshold": r.focus_info})  # fmt: skip
    return out


def _rooflens_findings(values: dict[str, float | None]) -> list[dict[str, Any]]:
    """The :data:`RULES` that fire on ``values`` (one per rule family: the first, stricter one wins)."""
    out: list[dict[str, Any]] = []
    fired: set[str] = set()
    for rule, metric, op, threshold, severity, message in RULES:
        v = values.get(metric)
        family = metric
        if v is None or family in fired or not (v < threshold if op == "<" else v > threshold):
            continue
        fired.add(family)
        out.append({"rule": rule, "source": "rooflens", "severity": severity, "message": message,
                    "estimated_speedup": None, "metric": metric, "value": v, "threshold": threshold})  # fmt: skip
    return out


def _operator_from_nvtx(stack: list[str]) -> str | None:
    """The innermost operator range of an NVTX stack (outermost first), or None."""
    for entry in reversed(stack):
        op = operator_of_range(entry)
        if op:
            return op
    return None


def select_run(ncu: NcuKernels, run: str | None) -> list[NcuKernel]:
    """NCU kernels whose NVTX stack names ``run``, plus those without NVTX data (all when none names it)."""
    if not run:
        return list(ncu.kernels)

    def names_run(k: NcuKernel) -> bool:
        return any(e == run or run in e.split("/") for e in k.nvtx)

    if not any(names_run(k) for k in ncu.kernels):
        return list(ncu.kernels)
    return [k for k in ncu.kernels if not k.nvtx or names_run(k)]


def join_timeline(kernels: list[NcuKernel], timeline: TimelineAnalysis | None) -> list[int | None]:
    """Index into ``timeline.kernels`` of each NCU kernel.

    By NVTX path and ordinal when both sides carry the same capture-time ranges (needed when ncu
    profiled a sample of the run, rooflens.analysis.counters), else in order, by short name
    (greedy subsequence: every kernel of the run was profiled).
    """
    if timeline is None:
        return [None] * len(kernels)
    names = [short_kernel_name(k.name) for k in timeline.kernels]
    by_path = join_by_path(
        [k.nvtx for k in kernels],
        [{short_kernel_name(k.name), short_kernel_name(k.demangled_name)} for k in kernels],
        [k.nvtx for k in timeline.kernels],
        names,
    )
    if by_path is not None:
        return by_path
    out: list[int | None] = []
    j = 0
    for k in kernels:
        want = {short_kernel_name(k.name), short_kernel_name(k.demangled_name)}
        hit = next((i for i in range(j, len(names)) if names[i] in want), None)
        out.append(hit)
        if hit is not None:
            j = hit + 1
    return out


def kernel_figures(k: NcuKernel, index: int, tl_index: int | None, timeline: TimelineAnalysis | None,
                   roof: Roof | None) -> KernelFigures:  # fmt: skip
    """All figures of one NCU kernel (durations from the timeline when joined)."""
    m = k.metrics
    ncu_dur = figure(m, "duration_s")
    tk = timeline.kernels[tl_index] if timeline is not None and tl_index is not None else None
    dur = tk.duration_s if tk is not None else (ncu_dur or 0.0)
    nbytes, flops = dram_bytes(m), kernel_flops(m)
    sm, mem = figure(m, "sm_throughput_pct"), figure(m, "memory_throughput_pct")
    ach, theo = figure(m, "achieved_occupancy_pct"), figure(m, "theoretical_occupancy_pct")
    frac = roof_fraction(flops, nbytes, dur, roof)
    values = {"roof_fraction": frac, "l2_hit_pct": figure(m, "l2_hit_pct"),
              "max_sol_pct": max(sm, mem) if sm is not None and mem is not None else None,
              "occupancy_ratio": _div(ach, theo)}  # fmt: skip
    return KernelFigures(
        index=index, name=k.demangled_name or k.name, short_name=short_kernel_name(k.name),
        duration_s=dur, ncu_duration_s=ncu_dur, timeline_index=tl_index, dram_bytes=nbytes,
        flops=flops, dram_bandwidth_bps=_div(nbytes, dur), achieved_flops_per_s=_div(flops, dur),
        intensity=_div(flops, nbytes), sm_throughput_pct=sm, memory_throughput_pct=mem,
        dram_throughput_pct=figure(m, "dram_throughput_pct"), l1_hit_pct=figure(m, "l1_hit_pct"),
        l2_hit_pct=values["l2_hit_pct"], achieved_occupancy_pct=ach, theoretical_occupancy_pct=theo,
        registers_per_thread=figure(m, "registers_per_thread"), bound=classify_bound(sm, mem),
        roof_fraction=frac, operator=(tk.operator if tk is not None else None) or _operator_from_nvtx(k.nvtx),
        nvtx=list(k.nvtx), findings=_ncu_findings(k) + _rooflens_findings(values),
    )  # fmt: skip


def measured_summary(figs: list[KernelFigures], roof: Roof | None) -> dict[str, Any]:
    """Run-level "measured" figures: Σ FLOPs / Σ time, Σ bytes / Σ time, duration-weighted SOL %."""
    t = sum(f.duration_s for f in figs)
    flops = (
        sum(f.flops for f in figs if f.flops is not None)
        if any(f.flops is not None for f in figs)
        else None
    )
    nbytes = (
        sum(f.dram_bytes for f in figs if f.dram_bytes is not None)
        if any(f.dram_bytes is not None for f in figs)
        else None
    )

    def weighted(attr: str) -> float | None:
        pairs = [(getattr(f, attr), f.duration_s) for f in figs if getattr(f, attr) is not None]
        w = sum(d for _, d in pairs)
        return sum(v * d for v, d in pairs) / w if w > 0 else None

    rate, bw = _div(flops, t), _div(nbytes, t)
    sm, mem = weighted("sm_throughput_pct"), weighted("memory_throughput_pct")
    return {
        "kernel_count": len(figs), "kernel_time_s": t, "flops": flops, "dram_bytes": nbytes,
        "achieved_flops_per_s": rate, "achieved_bandwidth_bps": bw, "intensity": _div(flops, nbytes),
        "sm_efficiency_pct": sm, "memory_throughput_pct": mem,
        "compute_utilization": _div(rate, roof.peak_flops) if roof else None,
        "memory_utilization": _div(bw, roof.bandwidth_bps) if roof else None,
        "bound": classify_bound(sm, mem),
    }  # fmt: skip


@dataclass
class KernelAnalysis:
    """Result of :func:`analyze_kernels`: the ``kernels`` and ``measured`` sections of report.json."""

    kernels: list[KernelFigures]
    measured: dict[str, Any]
    run: str | None
    unmatched: int

    def to_dict(self) -> dict[str, Any]:
        return {"kernels": [k.to_dict() for k in self.kernels], "measured": self.measured}

    def self_check(self, roof: Roof | None = None) -> None:
        """Invariants: bytes and FLOPs ≥ 0; achieved FLOP/s within 5% of the peak at most."""
        for k in self.kernels:
            assert k.dram_bytes is None or k.dram_bytes >= 0
            assert k.flops is None or k.flops >= 0
            if roof and k.achieved_flops_per_s is not None:
                assert k.achieved_flops_per_s <= roof.peak_flops * 1.05, k.name


def analyze_kernels(
    ncu: NcuKernels, timeline: TimelineAnalysis | None = None, roof: Roof | None = None
) -> KernelAnalysis:
    """Per-kernel figures of the chosen run's NCU kernels and the run-level measured figures."""
    run = timeline.chosen_run if timeline is not None else None
    kernels = select_run(ncu, run)
    joined = join_timeline(kernels, timeline)
    figs = [
        kernel_figures(k, i, j, timeline, roof)
        for i, (k, j) in enumerate(zip(kernels, joined, strict=True))
    ]
    unmatched = sum(1 for j in joined if j is None) if timeline is not None else 0
    if timeline is not None and figs:
        rows = propagate(
            [f.to_dict() for f in figs],
            [k.to_dict() for k in timeline.kernels],
            lambda flops, nbytes, dur: roof_fraction(flops, nbytes, dur, roof),
        )
        figs += [KernelFigures(**row) for row in rows]
    return KernelAnalysis(
        kernels=figs, measured=measured_summary(figs, roof), run=run, unmatched=unmatched
    )


def tensor_dtype(ncu: NcuKernels | None) -> str:
    """The tensor precision that did the most FLOPs (per-dtype counters), default fp16."""
    totals: dict[str, float] = {}
    for k in ncu.kernels if ncu else []:
        for dtype, v in tensor_flops_by_dtype(k.metrics).items():
            totals[dtype] = totals.get(dtype, 0.0) + v
    best = max(totals, key=lambda d: totals[d]) if any(totals.values()) else "fp16"
    return best if best in ("fp16", "bf16", "fp8", "int8", "tf32") else "fp16"
