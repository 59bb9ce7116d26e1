"""ncu command construction and metric selection (no GPU needed)."""

from __future__ import annotations

from pathlib import Path

from rooflens.capture import ncu


def test_nvtx_filter_uses_regex_form() -> None:
    # GPU.md: the plain form with brackets matched nothing; the regex form works.
    assert ncu.nvtx_run_filter(r"^Run\[2\]$") == r"regex:^Run\[2\]$/"


def test_profile_command_is_one_process_with_clock_control_none() -> None:
    argv = ncu.profile_command(
        Path("/x/ncu"),
        Path("/r/kernels"),
        ["python", "w.py"],
        run_regex=r"^Run\[2\]$",
        metrics=["a.sum", "b.sum"],
    )
    assert argv[:3] == ["/x/ncu", "--clock-control", "none"]
    assert argv[argv.index("--nvtx-include") + 1] == r"regex:^Run\[2\]$/"
    assert argv[argv.index("--metrics") + 1] == "a.sum,b.sum"
    assert argv[-2:] == ["python", "w.py"]
    assert argv.count("--section") == len(ncu.SECTIONS)


def test_select_metrics_keeps_top_level_tensor_counters_only() -> None:
    # Names as `ncu --query-metrics` listed them on an H200 (2026-11-26), trimmed.
    available = {
        "gpu__time_duration",
        "dram__bytes_read",
        "dram__bytes_write",
        "sm__throughput",
        "sm__ops_path_tensor_src_fp16",
        "sm__ops_path_tensor_src_bf16_dst_fp32",
        "sm__ops_path_tensor_src_fp8",
        "sm__ops_path_tensor_src_fp8_sparsity_off",
        "sm__ops_path_tensor_op_hgmma_src_fp16",
        "sm__ops_path_tensor_op_hgmma_src_fp16_sparsity_off",
        "smsp__ops_path_tensor_op_hmma_src_fp16_dst_fp16",
    }
    keep, dropped = ncu.select_metrics(available)
    tensor = sorted(m for m in keep if "ops_path_tensor" in m)
    assert tensor == [
        "sm__ops_path_tensor_src_bf16_dst_fp32.sum",
        "sm__ops_path_tensor_src_fp16.sum",
        "sm__ops_path_tensor_src_fp8.sum",
    ]
    assert "launch__registers_per_thread" in keep  # section-provided, not in the query list
    assert "l1tex__t_sector_hit_rate.pct" in dropped


def test_select_metrics_without_query_keeps_everything() -> None:
    keep, dropped = ncu.select_metrics(set())
    assert keep == ncu.METRICS and dropped == []


def test_metric_query_is_cached_per_ncu_build_and_gpu(tmp_path: Path) -> None:
    calls = tmp_path / "calls"
    fake = tmp_path / "ncu"
    fake.write_text(
        f"#!/bin/sh\necho x >> {calls}\n"
        "echo 'gpu__time_duration  Counter  ns  Duration'\necho 'dram__bytes_read  Counter  byte  Read'\n"
    )
    fake.chmod(0o755)
    cache = tmp_path / "cache"
    first = ncu.query_metric_names(fake, gpu_name="NVIDIA H100 80GB HBM3", cache_dir=cache)
    again = ncu.query_metric_names(fake, gpu_name="NVIDIA H100 80GB HBM3", cache_dir=cache)
    assert first == again == {"gpu__time_duration", "dram__bytes_read"}
    assert calls.read_text().count("x") == 1  # the second answer came from the cache
    ncu.query_metric_names(fake, gpu_name="NVIDIA H200", cache_dir=cache)  # another GPU: asks again
    assert calls.read_text().count("x") == 2
    ncu.query_metric_names(fake)  # no GPU name: no cache
    assert calls.read_text().count("x") == 3
