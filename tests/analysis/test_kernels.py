"""NCU counters → per-kernel figures, rules and run-level measured figures (hand-derived)."""

from __future__ import annotations

import pytest

from rooflens.analysis.kernels import (
    analyze_kernels,
    classify_bound,
    join_timeline,
    kernel_flops,
    roof_fraction,
    tensor_dtype,
)
from rooflens.analysis.timeline import RunSummary, TimelineAnalysis, TimelineKernel
from rooflens.hardware.match import Roof, match_gpu
from rooflens.traces.model import NcuKernel, NcuKernels, RuleResult

ROOF = Roof(peak_flops=1000e12, bandwidth_bps=4e12)  # round numbers: ridge at 250 FLOP/B


def _gemm() -> NcuKernel:
    return NcuKernel(
        id=0, name="nvjet_hsh_128x256", demangled_name="nvjet_hsh_128x256",
        nvtx=["Run[2]/prefill/Layer[0]#Run[2]/qkv_proj"],
        metrics={
            "gpu__time_duration.sum": 110e-6,
            "dram__bytes_read.sum": 60e6, "dram__bytes_write.sum": 20e6,
            "sm__ops_path_tensor_src_fp16.sum": 64e9,
            "sm__ops_path_tensor_op_hgmma_src_fp16.sum": 64e9,  # repeats the count: not added
            "smsp__sass_thread_inst_executed_op_ffma_pred_on.sum": 1e6,
            "smsp__sass_thread_inst_executed_op_fadd_pred_on.sum": 3e6,
            "sm__throughput.avg.pct_of_peak_sustained_elapsed": 80.0,
            "gpu__compute_memory_throughput.avg.pct_of_peak_sustained_elapsed": 40.0,
            "lts__t_sector_hit_rate.pct": 45.0,
            "sm__warps_active.avg.pct_of_peak_sustained_active": 20.0,
            "sm__maximum_warps_per_active_cycle_pct": 25.0,
        },
        rules=[RuleResult("SOLBottleneck", "SOL", "optimization", "Compute is busy.", 30.0),
               RuleResult("Info", "Info", "ok", "fine", None)],
    )  # fmt: skip


def _norm() -> NcuKernel:
    return NcuKernel(
        id=1, name="rms_norm", demangled_name="void rms_norm<half>(half*)", nvtx=[],
        metrics={"gpu__time_duration.sum": 10e-6, "dram__bytes_read.sum": 30e6, "dram__bytes_write.sum": 10e6,
                 "sm__throughput.avg.pct_of_peak_sustained_elapsed": 20.0,
                 "gpu__compute_memory_throughput.avg.pct_of_peak_sustained_elapsed": 50.0},
    )  # fmt: skip


def test_flops_add_tensor_ops_and_cuda_core_with_fma_twice() -> None:
    # 64e9 tensor + 2 * 1e6 ffma + 3e6 fadd
    assert kernel_flops(_gemm().metrics) == 64e9 + 2e6 + 3e6
    assert kernel_flops({"dram__bytes_read.sum": 1.0}) is None


@pytest.mark.parametrize(
    "sm, mem, bound",
    [
        (80, 40, "compute"),
        (40, 80, "memory"),
        (59, 59.9, "latency"),
        (60, 60, "compute"),
        (None, 5, None),
    ],
)
def test_bound(sm: float | None, mem: float | None, bound: str | None) -> None:
    assert classify_bound(sm, mem) == bound


def test_roof_fraction_at_kernel_intensity() -> None:
    # intensity 100 FLOP/B < ridge 250: attainable = 100 * 4e12 = 400 TFLOP/s; achieved 200 TFLOP/s
    assert roof_fraction(2e11, 2e9, 1e-3, ROOF) == pytest.approx(0.5)
    # FLOP-free copy: 2 TB/s of 4 TB/s
    assert roof_fraction(0.0, 2e9, 1e-3, ROOF) == pytest.approx(0.5)
    assert roof_fraction(1.0, 1.0, 1.0, None) is None


def test_ncu_only_figures_and_findings() -> None:
    ka = analyze_kernels(NcuKernels("ncu-csv", "x.csv", [_gemm(), _norm()]), None, ROOF)
    ka.self_check(ROOF)
    g, n = ka.kernels
    flops = 64e9 + 5e6
    assert (
        g.duration_s == 110e-6
        and g.dram_bytes == 80e6
        and g.intensity == pytest.approx(flops / 80e6)
    )
    assert g.achieved_flops_per_s == pytest.approx(flops / 110e-6)
    # intensity 800 > ridge 250: attainable is the peak
    assert g.roof_fraction == pytest.approx(flops / 110e-6 / 1000e12)
    assert g.bound == "compute" and n.bound == "latency"  # norm: 20% and 50%, both under 60
    assert g.operator == "qkv_proj"
    rules = {f["rule"]: f for f in g.findings}
    assert rules["SOLBottleneck"]["estimated_speedup"] == pytest.approx(0.30)
    assert rules["SOLBottleneck"]["severity"] == "high" and "Info" not in rules
    assert rules["low_l2_hit"]["value"] == 45.0 and rules["low_l2_hit"]["threshold"] == 50.0
    assert "low_occupancy" not in rules  # 20 / 25 = 0.8 of theoretical
    assert n.roof_fraction == pytest.approx(
        40e6 / 10e-6 / 4e12
    )  # no FLOP counters: bandwidth share
    m = ka.measured
    assert m["kernel_time_s"] == pytest.approx(120e-6)
    assert m["flops"] == pytest.approx(flops) and m["dram_bytes"] == pytest.approx(120e6)
    assert m["achieved_bandwidth_bps"] == pytest.approx(120e6 / 120e-6)
    assert m["sm_efficiency_pct"] == pytest.approx((80 * 110 + 20 * 10) / 120)
    assert m["compute_utilization"] == pytest.approx(flops / 120e-6 / 1000e12)
    assert m["bound"] == "compute"  # weighted SM 75% vs memory (40*110+50*10)/120 = 40.8%


def _timeline(names: list[str], durations: list[float]) -> TimelineAnalysis:
    ks = [TimelineKernel(i, n, n, 0.0, d, 0.0, (1, 1, 1), (1, 1, 1), 0, 7, "attn_norm", "prefill", 0)
          for i, (n, d) in enumerate(zip(names, durations, strict=True))]  # fmt: skip
    run = RunSummary("Run[2]", 1, 1.0, len(ks), sum(durations), 0.0, 1.0, 1.0, 0.0, 0.0, 0, 0)
    return TimelineAnalysis("nsys", "t", "Run[2]", [run], run, ks, run, [])


def test_join_by_order_and_name_uses_timeline_durations() -> None:
    tl = _timeline(
        ["embedding_kernel", "nvjet_hsh_128x256", "rms_norm", "nvjet_hsh_128x256"],
        [1e-6, 100e-6, 9e-6, 50e-6],
    )
    ncu = NcuKernels("ncu-rep", "x", [_gemm(), _norm()])
    assert join_timeline(ncu.kernels, tl) == [1, 2]
    ka = analyze_kernels(ncu, tl, ROOF)
    assert [k.duration_s for k in ka.kernels] == [100e-6, 9e-6]
    assert ka.kernels[0].ncu_duration_s == 110e-6 and ka.unmatched == 0
    assert ka.measured["kernel_time_s"] == pytest.approx(109e-6)


def test_tensor_dtype_and_gpu_match() -> None:
    assert tensor_dtype(NcuKernels("x", "x", [_gemm()])) == "fp16"
    fp8 = NcuKernel(0, "k", "k", metrics={"sm__ops_path_tensor_src_fp8.sum": 1e12})
    assert tensor_dtype(NcuKernels("x", "x", [_gemm(), fp8])) == "fp8"
    m = match_gpu("NVIDIA H100 80GB HBM3", None)
    assert m.spec_key is not None and m.roof is not None and not m.warnings
    unknown = match_gpu("NVIDIA Imaginary 9000", None)
    assert unknown.roof is None and "unknown GPU" in unknown.warnings[0]
    mismatch = match_gpu("NVIDIA H100 80GB HBM3", "A100")
    assert mismatch.warnings and "differs" in mismatch.warnings[0]
