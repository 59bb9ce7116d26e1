"""Findings: each rule fires above its threshold only, with time at stake derived by hand; ranking."""

from __future__ import annotations

from typing import Any

import pytest

from rooflens.analysis.findings import THRESHOLDS, launch_bound_finding, rank_findings


def _run(bubble: float, window: float = 100e-6, busy: float = 30e-6) -> dict[str, Any]:
    return {
        "chosen_run": "R",
        "runs": [
            {
                "name": "R",
                "bubble_ratio": bubble,
                "window_s": window,
                "gpu_busy_s": busy,
                "host_bound_gap_s": 60e-6,
            }
        ],
    }


def _k(i: int, dur: float, **kw: Any) -> dict[str, Any]:
    return {"index": i, "short_name": f"k{i}", "duration_s": dur, **kw}


def test_launch_bound_fires_above_threshold_only() -> None:
    f = launch_bound_finding(_run(0.7), 30e-6)
    assert f is not None
    assert f["time_at_stake_s"] == pytest.approx(70e-6)  # window 100 us − busy 30 us
    assert (f["metric"], f["value"], f["threshold"]) == (
        "bubble_ratio",
        0.7,
        THRESHOLDS["bubble_ratio"],
    )
    assert f["severity"] == "high" and "CUDA graphs" in f["suggestion"]
    assert launch_bound_finding(_run(0.2, busy=80e-6), 80e-6) is None


def test_kernel_rules_and_stakes() -> None:
    ks = [
        _k(0, 10e-6, operator="copy"),  # copy: stake 10 us
        _k(1, 40e-6, operator="attention", roof_fraction=0.1, l2_hit_pct=30.0),  # 36 us each
        _k(
            2, 40e-6, operator="act", roof_fraction=0.5, l2_hit_pct=10.0
        ),  # act does not re-read: no L2 rule
        _k(
            3, 10e-6, operator="qkv_proj", roof_fraction=0.8, achieved_occupancy_pct=10.0
        ),  # occupancy: 2 us
        _k(4, 0.5e-6, operator="copy"),  # < 1 % of 100.5 us: ignored
    ]
    found = rank_findings(None, ks)
    got = [(f["rule"], f["kernel_index"], round(f["time_at_stake_s"] * 1e6, 6)) for f in found]
    assert got == [
        ("below_roof", 1, 36.0),
        ("low_l2_hit", 1, 36.0),
        ("copy_cast", 0, 10.0),
        ("low_occupancy", 3, 2.0),
    ]


def test_ncu_rules_use_estimated_speedup_times_duration() -> None:
    ks = [
        _k(
            0,
            20e-6,
            findings=[
                {
                    "rule": "UncoalescedGlobalAccess",
                    "source": "ncu",
                    "severity": "high",
                    "message": "m",
                    "estimated_speedup": 0.25,
                }
            ],
        )
    ]
    (f,) = rank_findings(None, ks)
    assert f["source"] == "ncu" and f["time_at_stake_s"] == pytest.approx(5e-6)
    assert f["estimated_speedup"] == 0.25 and f["severity"] == "high"


def test_ranking_puts_the_launch_gap_first() -> None:
    found = rank_findings(_run(0.7), [_k(0, 30e-6, operator="copy")])
    assert [f["rule"] for f in found] == ["launch_bound", "copy_cast"]


def test_rules_already_on_the_kernel_are_ranked_not_repeated() -> None:
    # rooflens.analysis.kernels already put far_from_roof (threshold 0.2) on this kernel.
    k = _k(0, 50e-6, operator="attention", roof_fraction=0.1,
           findings=[{"rule": "far_from_roof", "source": "rooflens", "severity": "high", "message": "m",
                      "metric": "roof_fraction", "value": 0.1, "threshold": 0.2}])  # fmt: skip
    found = rank_findings(None, [k])
    assert [f["rule"] for f in found] == ["far_from_roof"]  # our below_roof is covered
    assert found[0]["time_at_stake_s"] == pytest.approx(45e-6)  # 50 us × (1 − 0.1)
    assert found[0]["subject"] == "k0" and "fused" in found[0]["suggestion"]


def test_low_occupancy_needs_headroom() -> None:
    at_limit = _k(0, 10e-6, achieved_occupancy_pct=12.0, theoretical_occupancy_pct=12.5)
    headroom = _k(1, 10e-6, achieved_occupancy_pct=12.0, theoretical_occupancy_pct=50.0)
    assert [f["kernel_index"] for f in rank_findings(None, [at_limit, headroom])] == [1]
