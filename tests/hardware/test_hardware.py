"""gpus.toml → GPU: SI conversion, sources for every number, tool-name aliases, errors."""

from __future__ import annotations

import pytest

from rooflens.errors import RooflensError
from rooflens.hardware import all_gpus, lookup

REQUIRED = {
    "nvidia_H800_SXM5_80G", "nvidia_H100_SXM5_80G", "nvidia_H100_PCIe_80G", "nvidia_H200_SXM_141G",
    "nvidia_H20_96G", "nvidia_A100_SXM4_40G", "nvidia_A100_SXM4_80G", "nvidia_A800_SXM4_80G",
    "nvidia_L40S_48G", "nvidia_L20_48G", "nvidia_RTX4090_24G", "nvidia_B200_180G", "amd_MI300X_192G",
}  # fmt: skip


def test_required_gpus_present_with_sources() -> None:
    gpus = {g.key: g for g in all_gpus()}
    assert REQUIRED <= set(gpus)
    for g in gpus.values():
        assert set(g.sources) == {
            "peak_tflops",
            "bandwidth_gbps",
            "memory_gb",
            "l2_mib",
            "sm_count",
            "interconnect_gbps",
        }
        assert all(len(s) > 10 for s in g.sources.values())


def test_h800_in_si_units() -> None:
    g = lookup("nvidia_H800_SXM5_80G")
    # datasheet: 1,979 TFLOPS FP16 with sparsity → 989.5 dense; 3.35 TB/s; NVLink 400 GB/s
    assert g.peak("fp16") == pytest.approx(989.5e12)
    assert g.bandwidth_bps == pytest.approx(3.35e12)
    assert g.interconnect_bps == pytest.approx(400e9)
    assert g.l2_bytes == 50 * 1024 * 1024 and g.sm_count == 132


@pytest.mark.parametrize(
    ("printed", "key"),
    [
        ("NVIDIA H100 80GB HBM3", "nvidia_H100_SXM5_80G"),
        ("NVIDIA H100 PCIe", "nvidia_H100_PCIe_80G"),
        ("NVIDIA H200", "nvidia_H200_SXM_141G"),
        ("NVIDIA H800", "nvidia_H800_SXM5_80G"),
        ("NVIDIA A100-SXM4-80GB", "nvidia_A100_SXM4_80G"),
        ("NVIDIA GeForce RTX 4090", "nvidia_RTX4090_24G"),
        ("h100", "nvidia_H100_SXM5_80G"),
        ("  nvidia h20 ", "nvidia_H20_96G"),
    ],
)
def test_aliases(printed: str, key: str) -> None:
    assert lookup(printed).key == key


def test_unknown_gpu_lists_closest() -> None:
    with pytest.raises(RooflensError, match="H800"):
        lookup("H900")


def test_missing_dtype_is_an_error() -> None:
    with pytest.raises(RooflensError, match="FP8"):
        lookup("A100").peak("fp8")


def test_units_binary_prefixes() -> None:
    from rooflens.units import to_si

    assert to_si(50, "MiB") == 50 * 1024 * 1024  # nsys l2CacheSize of an H100: 52428800
    assert to_si(2, "GiB") == 2 * 1024**3
    assert to_si(50, "MB") == 50_000_000  # decimal prefixes unchanged
