"""Section 三 per kernel name (``kernel_groups``): the seed's summary figures, derived by hand."""

from __future__ import annotations

from typing import Any

import pytest

from rooflens.analysis.summary import summarize_kernel_names


def _k(i: int, name: str, dur: float, sm: float, nbytes: float, l2: float, l1: float,
       findings: list[dict[str, Any]] | None = None) -> dict[str, Any]:  # fmt: skip
    return {"index": i, "short_name": name, "duration_s": dur, "sm_throughput_pct": sm,
            "dram_bytes": nbytes, "dram_bandwidth_bps": nbytes / dur, "l2_hit_pct": l2,
            "l1_hit_pct": l1, "operator": "rope", "findings": findings or []}  # fmt: skip


def _f(rule: str, value: float, severity: str) -> dict[str, Any]:
    return {"rule": rule, "source": "rooflens", "metric": "roof_fraction", "value": value,
            "threshold": 0.2, "severity": severity}  # fmt: skip


def test_one_row_per_name_with_the_seed_figures() -> None:
    ks = [
        _k(0, "elementwise_kernel", 1e-6, 40.0, 1e6, 60.0, 20.0, [_f("far_from_roof", 0.1, "high")]),
        _k(1, "gemm", 10e-6, 90.0, 3e7, 30.0, 0.0),
        _k(2, "elementwise_kernel", 3e-6, 60.0, 6e6, 40.0, 55.0,
           [_f("far_from_roof", 0.05, "high"), _f("latency_bound", 30.0, "medium")]),
    ]  # fmt: skip
    kg = summarize_kernel_names(ks)
    assert kg["thresholds"] == {
        "sm_efficiency_low_pct": 50.0,
        "l2_hit_low_pct": 50.0,
        "l1_hit_low_pct": 50.0,
    }
    gemm, ew = kg["rows"]  # most total time first: 10 us, then 4 us
    assert (gemm["name"], ew["name"], ew["count"], ew["kernel_indices"]) == (
        "gemm",
        "elementwise_kernel",
        2,
        [0, 2],
    )
    assert ew["duration_s"] == pytest.approx(4e-6)
    # SM efficiency: duration-weighted (40·1 + 60·3) / 4 = 55 %; max 60, min 40; 1 of 2 under 50 %
    assert ew["sm_efficiency_avg_pct"] == pytest.approx(55.0)
    assert (ew["sm_efficiency_max_pct"], ew["sm_efficiency_min_pct"]) == (60.0, 40.0)
    assert (ew["sm_efficiency_low_count"], ew["sm_efficiency_count"]) == (1, 2)
    # Bandwidth: Σ bytes / Σ time = 7 MB / 4 us = 1.75 TB/s; per kernel 1 TB/s and 2 TB/s
    assert ew["bandwidth_avg_bps"] == pytest.approx(1.75e12)
    assert ew["bandwidth_max_bps"] == pytest.approx(2e12) and ew[
        "bandwidth_min_bps"
    ] == pytest.approx(1e12)
    # L2: (60·1 + 40·3) / 4 = 45 %, one under 50 %; L1: (20 + 165) / 4 = 46.25 %, one under 50 %
    assert ew["l2_hit_avg_pct"] == pytest.approx(45.0) and ew["l2_hit_low_count"] == 1
    assert ew["l1_hit_avg_pct"] == pytest.approx(46.25) and ew["l1_hit_low_count"] == 1
    # 识别瓶颈数 = distinct rules fired: far_from_roof (2 kernels, worst 0.05) and latency_bound
    assert ew["finding_count"] == 2
    far = ew["bottlenecks"][0]
    assert (far["rule"], far["count"], far["worst_value"], far["severity"]) == (
        "far_from_roof",
        2,
        0.05,
        "high",
    )
    assert (
        gemm["finding_count"] == 0
        and gemm["l1_hit_low_count"] == 1
        and gemm["sm_efficiency_low_count"] == 0
    )


def test_missing_figures_stay_null() -> None:
    (row,) = summarize_kernel_names([{"index": 0, "short_name": "k", "duration_s": 1e-6}])["rows"]
    assert row["sm_efficiency_avg_pct"] is None and row["bandwidth_avg_bps"] is None
    assert (row["sm_efficiency_low_count"], row["sm_efficiency_count"]) == (0, 0)
