"""Nsight Compute command lines: one ncu process over every kernel of the chosen run.

ncu serialises and replays each kernel, so we ask it for exactly what the report uses —
throughput (Speed of Light), DRAM bytes, FLOP counters (tensor pipes and CUDA cores),
L1/L2 hit rates, occupancy, launch statistics — plus the rule results of those sections.
Metrics a GPU does not have are dropped (after ``ncu --query-metrics``) and listed in the manifest.

Tensor "ops" counters count FLOPs: on a 4096³ GEMM ``sm__ops_path_tensor_src_fp8.sum`` read
2·M·N·K exactly (GPU.md); :mod:`rooflens.capture.flopcheck` re-verifies FP16/BF16/FP8 on the GPU.
"""

from __future__ import annotations

import hashlib
import re
import subprocess
from pathlib import Path

# Sections whose rules we want (their metrics come along).  Each section adds replay passes per
# kernel, so MemoryWorkloadAnalysis and ComputeWorkloadAnalysis (whose hit rates we ask for as
# plain metrics) come only with `--ncu-set detailed|full`; benchmarks/bench_capture.py measures it.
SECTIONS = [
    "SpeedOfLight",
    "LaunchStats",
    "Occupancy",
]

# Metrics the report reads (REPORT_SPEC 一 "Measured", 三).  Base names; the suffix is part of it.
METRICS = [
    "gpu__time_duration.sum",
    "dram__bytes_read.sum",
    "dram__bytes_write.sum",
    "sm__throughput.avg.pct_of_peak_sustained_elapsed",
    "gpu__compute_memory_throughput.avg.pct_of_peak_sustained_elapsed",
    "gpu__dram_throughput.avg.pct_of_peak_sustained_elapsed",
    "dram__throughput.avg.pct_of_peak_sustained_elapsed",
    "l1tex__t_sector_hit_rate.pct",
    "lts__t_sector_hit_rate.pct",
    "sm__warps_active.avg.pct_of_peak_sustained_active",
    "sm__maximum_warps_per_active_cycle_pct",
    "launch__registers_per_thread",
    "launch__grid_size",
    "launch__block_size",
    "sm__sass_thread_inst_executed_op_fadd_pred_on.sum",
    "sm__sass_thread_inst_executed_op_fmul_pred_on.sum",
    "sm__sass_thread_inst_executed_op_ffma_pred_on.sum",
    "sm__sass_thread_inst_executed_op_hadd_pred_on.sum",
    "sm__sass_thread_inst_executed_op_hmul_pred_on.sum",
    "sm__sass_thread_inst_executed_op_hfma_pred_on.sum",
    "sm__sass_thread_inst_executed_op_dadd_pred_on.sum",
    "sm__sass_thread_inst_executed_op_dmul_pred_on.sum",
    "sm__sass_thread_inst_executed_op_dfma_pred_on.sum",
    "sm__inst_executed_pipe_tensor_op_gmma.sum",
]

# Tensor FLOP counters: the top-level `sm__ops_path_tensor_src_<dtype>[_dst_<dtype>]` metrics.
# Their `_op_hgmma_…`/`_op_hmma_…` and `_sparsity_on/off` variants are breakdowns of the same
# operations (on an H200 a 4096³ FP16 GEMM read 2·M·N·K in `src_fp16`, `op_hgmma_src_fp16` and
# `op_hgmma_src_fp16_sparsity_off` alike): collecting them too would invite double counting.
TENSOR_OPS_PATTERN = re.compile(r"^sm__ops_path_tensor_src_[a-z0-9]+(_dst_[a-z0-9]+)?$")

# Metrics that sections compute (launch statistics, occupancy limits): `--query-metrics` does not
# list them, yet ncu reports them.
_SECTION_PROVIDED = ("launch__", "sm__maximum_warps_per_active_cycle_pct")


def nvtx_run_filter(run_regex: str) -> str:
    """ncu's NVTX include expression for a push/pop range matching ``run_regex``.

    The plain form ``Layer[0]#Run[2]/`` matched nothing on ncu 2025.3 (the brackets): the
    ``regex:`` form is used, with the trailing ``/`` that means "a push/pop range".
    """
    return f"regex:{run_regex}/"


def _parse_metric_names(text: str) -> set[str]:
    names: set[str] = set()
    for line in text.splitlines():
        tok = line.split(maxsplit=1)[0] if line.strip() else ""
        if "__" in tok:
            names.add(tok)
    return names


def _cache_file(ncu: Path, gpu_name: str, cache_dir: Path) -> Path:
    """One cache entry per ncu build and GPU model: the metric list depends on both only."""
    st = ncu.resolve().stat()
    key = hashlib.sha256(
        f"{ncu.resolve()}|{st.st_size}|{st.st_mtime_ns}|{gpu_name}".encode()
    ).hexdigest()
    return cache_dir / f"ncu-metrics-{key[:16]}.txt"


def query_metric_names(
    ncu: Path,
    env: dict[str, str] | None = None,
    *,
    gpu_name: str | None = None,
    cache_dir: Path | None = None,
) -> set[str]:
    """Base metric names this GPU offers (``ncu --query-metrics``); empty when the query fails.

    The query takes about 1.5 s (H200, ncu 2025.3.1): with ``gpu_name`` and ``cache_dir`` its
    output is kept per ncu build and GPU model and reused by later captures.
    """
    cache = _cache_file(ncu, gpu_name, cache_dir) if gpu_name and cache_dir else None
    if cache is not None and cache.is_file():
        names = _parse_metric_names(cache.read_text(encoding="utf-8", errors="replace"))
        if names:
            return names
    try:
        out = subprocess.run(
            [str(ncu), "--query-metrics"], capture_output=True, text=True, timeout=120, env=env
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return set()
    names = _parse_metric_names(out)
    if cache is not None and names:
        try:
            cache.parent.mkdir(parents=True, exist_ok=True)
            cache.write_text("\n".join(sorted(names)), encoding="utf-8")
        except OSError:
            pass  # a cache that cannot be written only costs the next capture 1.5 s
    return names


def select_metrics(available: set[str]) -> tuple[list[str], list[str]]:
    """(metrics to ask for, metrics dropped because the GPU lacks them).

    With an empty ``available`` (query failed) every wanted metric is kept and ncu decides.
    """
    if not available:
        return list(METRICS), []
    keep: list[str] = []
    dropped: list[str] = []
    for m in METRICS:
        base = m.split(".", 1)[0]
        (keep if base in available or base.startswith(_SECTION_PROVIDED) else dropped).append(m)
    keep += sorted(f"{n}.sum" for n in available if TENSOR_OPS_PATTERN.match(n))
    return keep, dropped


def profile_command(
    ncu: Path,
    out_base: Path,
    program: list[str],
    *,
    run_regex: str | None,
    metrics: list[str],
    ncu_set: str | None = None,
    clock_control: str = "none",
    extra: list[str] | None = None,
) -> list[str]:
    """``ncu`` argv that profiles every kernel of the chosen NVTX run of ``program`` in one process."""
    cmd = [str(ncu), "--clock-control", clock_control, "--target-processes", "all"]
    if run_regex:
        cmd += ["--nvtx", "--nvtx-include", nvtx_run_filter(run_regex)]
    if ncu_set:
        cmd += ["--set", ncu_set]
    for s in SECTIONS:
        cmd += ["--section", s]
    if metrics:
        cmd += ["--metrics", ",".join(metrics)]
    cmd += ["--import-source", "no", "-o", str(out_base), "-f"]
    cmd += list(extra or [])
    return cmd + list(program)


def csv_export_command(ncu: Path, report: Path, *, base_units: bool) -> list[str]:
    """``ncu --import X.ncu-rep --csv --page raw`` (optionally ``--print-units base``)."""
    cmd = [str(ncu), "--import", str(report), "--csv", "--page", "raw"]
    if base_units:
        cmd += ["--print-units", "base"]
    return cmd
