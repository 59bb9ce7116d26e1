"""Findings: groups by (rule, operator), time at stake derived by hand, folding, fragmented operators,
suggestions that fit the kernel class."""

from __future__ import annotations

from typing import Any

import pytest

from rooflens.analysis.findings import (
    SUGGESTIONS,
    THRESHOLDS,
    kernel_findings,
    launch_bound_finding,
    rank_findings,
    time_at_stake,
)


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


def _f(rule: str, value: float, metric: str = "roof_fraction", threshold: float = 0.2) -> dict[str, Any]:  # fmt: skip
    return {"rule": rule, "source": "rooflens", "severity": "high", "message": rule,
            "metric": metric, "value": value, "threshold": threshold}  # fmt: skip


def _ncu(rule: str, speedup: float) -> dict[str, Any]:
    return {"rule": rule, "source": "ncu", "severity": "medium", "message": f"{rule} says so",
            "estimated_speedup": speedup}  # fmt: skip


def _k(i: int, dur: float, findings: list[dict[str, Any]] | None = None, **kw: Any) -> dict[str, Any]:  # fmt: skip
    return {"index": i, "short_name": f"k{i}", "name": f"k{i}", "duration_s": dur,
            "findings": findings or [], **kw}  # fmt: skip


def _by(found: list[dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(f["rule"], f["subject"]): f for f in found}


def test_launch_bound_fires_above_threshold_only() -> None:
    f = launch_bound_finding(_run(0.7), 30e-6)
    assert f is not None
    assert f["time_at_stake_s"] == pytest.approx(70e-6)  # window 100 us − busy 30 us
    assert (f["metric"], f["value"], f["threshold"]) == ("bubble_ratio", 0.7, 0.20)
    assert f["severity"] == "high" and "CUDA graphs" in f["suggestion"]
    assert launch_bound_finding(_run(0.2, busy=80e-6), 80e-6) is None


def test_one_group_per_rule_and_operator() -> None:
    ks = [
        _k(0, 10e-6, [_f("far_from_roof", 0.10)], operator="act", roof_fraction=0.10),
        _k(1, 20e-6, [_f("far_from_roof", 0.05)], operator="act", roof_fraction=0.05),
        _k(2, 4e-6, [_f("below_roof", 0.40, threshold=0.5)], operator="act", roof_fraction=0.40),
        _k(3, 8e-6, [_f("far_from_roof", 0.10)], operator="attn_norm", roof_fraction=0.10),
    ]
    found = rank_findings(None, ks)
    assert len(found) == 2
    act = found[0]
    # Σ duration × (1 − roof): 10·0.9 + 20·0.95 + 4·0.6 = 9 + 19 + 2.4 = 30.4 us
    assert act["subject"] == "act" and act["count"] == 3 and act["kernel_indices"] == [0, 1, 2]
    assert act["time_at_stake_s"] == pytest.approx(30.4e-6)
    assert (act["rule"], act["value"]) == ("far_from_roof", 0.05)  # worst = lowest roof fraction
    assert set(act["rules"]) == {"far_from_roof", "below_roof"}
    # 30.4 us of 42 us of kernel time ≥ 20 %: high; attn_norm 7.2 / 42 = 17 %: medium
    assert act["severity"] == "high" and found[1]["severity"] == "medium"
    assert found[1]["time_at_stake_s"] == pytest.approx(7.2e-6)


def test_subject_is_the_short_name_without_an_operator() -> None:
    ks = [
        _k(0, 10e-6, [_f("far_from_roof", 0.1)], operator="other", roof_fraction=0.1),
        _k(1, 10e-6, [_f("far_from_roof", 0.1)], roof_fraction=0.1),
    ]
    assert sorted(f["subject"] for f in rank_findings(None, ks)) == ["k0", "k1"]


def test_diagnoses_fold_into_the_roof_group_and_are_never_summed_twice() -> None:
    diag = [_f("far_from_roof", 0.1), _f("latency_bound", 20.0, "max_sol_pct", 60.0),
            _f("low_occupancy", 0.3, "occupancy_ratio", 0.5)]  # fmt: skip
    found = rank_findings(None, [_k(0, 50e-6, diag, operator="mlp_norm", roof_fraction=0.1)])
    assert len(found) == 1
    (g,) = found
    assert g["time_at_stake_s"] == pytest.approx(45e-6)  # 50 us × (1 − 0.1), once
    assert g["also"] == {"latency_bound": 1, "low_occupancy": 1}


def test_diagnoses_without_a_roof_finding_form_groups_the_first_one_holding_the_rest() -> None:
    # A GEMM at 70 % of its roof: latency-bound and low L2 hit; the L2 rule folds into the first.
    fs = [
        _f("latency_bound", 54.0, "max_sol_pct", 60.0),
        _f("low_l2_hit", 30.0, "l2_hit_pct", 50.0),
    ]
    (g,) = rank_findings(None, [_k(0, 20e-6, fs, operator="o_proj", roof_fraction=0.7)])
    assert (g["rule"], g["also"]) == ("latency_bound", {"low_l2_hit": 1})
    assert g["time_at_stake_s"] == pytest.approx(6e-6)  # 20 us × 0.3


def test_low_l2_hit_only_ranked_on_kernels_that_reread_data() -> None:
    l2 = [_f("low_l2_hit", 30.0, "l2_hit_pct", 50.0)]
    ks = [_k(0, 10e-6, l2, operator="act", roof_fraction=0.6),
          _k(1, 10e-6, l2, operator="down_proj", roof_fraction=0.6),
          _k(2, 10e-6, l2, operator="lm_head", roof_fraction=0.6)]  # fmt: skip
    # lm_head moved no more DRAM bytes than predicted (1.05 ≤ 1.1×): the weights are streamed
    # once and a low L2 hit rate costs nothing.  down_proj moved 1.5× its predicted bytes.
    ops = [{"name": "down_proj", "phase": "prefill", "measured_bytes": 150e6, "predicted_bytes": 100e6},
           {"name": "lm_head", "phase": "prefill", "measured_bytes": 105e6, "predicted_bytes": 100e6}]  # fmt: skip
    assert [f["subject"] for f in rank_findings(None, ks, ops)] == ["down_proj"]


def test_ncu_rules_group_speedup_times_duration() -> None:
    ks = [_k(0, 20e-6, [_ncu("Uncoalesced", 0.25)], operator="qkv_proj"),
          _k(1, 40e-6, [_ncu("Uncoalesced", 0.10)], operator="qkv_proj")]  # fmt: skip
    (g,) = rank_findings(None, ks)
    assert g["source"] == "ncu" and g["count"] == 2
    assert g["time_at_stake_s"] == pytest.approx(9e-6)  # 20·0.25 + 40·0.10
    assert g["estimated_speedup"] == 0.25 and g["value"] == 0.25  # worst = largest speedup
    assert g["suggestion"] == SUGGESTIONS["ncu"]


def test_fragmented_operator() -> None:
    rope = [_k(i, 3e-6, [_f("far_from_roof", 0.05)], operator="rope", roof_fraction=0.05)
            for i in range(4)]  # fmt: skip
    ops = [{"name": "rope", "kernel_count": 4, "measured_time_s": 12e-6, "predicted_time_s": 1e-6}]
    found = rank_findings(None, rope, ops)
    assert len(found) == 1  # the roof findings of its kernels fold into it
    (g,) = found
    assert g["rule"] == "fragmented_operator" and g["count"] == 4
    assert g["time_at_stake_s"] == pytest.approx(11e-6)  # 12 − 1 us
    assert g["value"] == pytest.approx(12.0) and g["also"] == {"far_from_roof": 4}
    assert "rotary" in g["suggestion"]
    # Below either threshold: 2 kernels per instance, or 2.9× the prediction.
    close = [dict(ops[0], measured_time_s=2.9e-6)]
    for ks, o in ((rope[:2], ops), (rope, close)):
        assert "fragmented_operator" not in {f["rule"] for f in rank_findings(None, ks, o)}
    # Decode: 4 kernels over 4 steps is one kernel per step and layer, not a fragmented operator.
    steps = [dict(k, phase=f"decode[{k['index'] + 1}]", layer=0) for k in rope]
    decode = [dict(ops[0], phase="decode")]
    assert "fragmented_operator" not in {f["rule"] for f in rank_findings(None, steps, decode)}

    def per_step(n: int) -> list[dict[str, Any]]:  # 4 decode steps, n rope kernels each
        return [
            dict(rope[0], index=i, phase=f"decode[{i // n + 1}]", layer=0) for i in range(4 * n)
        ]

    assert "fragmented_operator" not in {
        f["rule"] for f in rank_findings(None, per_step(2), decode)
    }
    (g,) = rank_findings(None, per_step(3), decode)
    assert (g["rule"], g["subject"], g["kernels_per_instance"]) == (
        "fragmented_operator",
        "rope (decode)",
        3.0,
    )
    assert THRESHOLDS["fragment_kernel_count"] == 3 and THRESHOLDS["fragment_time_ratio"] == 3.0


@pytest.mark.parametrize(
    ("operator", "name", "words"),
    [
        ("gate_up_proj", "nvjet_x", "split-K"),
        ("qkv_proj", "nvjet_x", "FP8"),
        ("attention", "flash_fwd", "FlashAttention"),
        ("mlp_norm", "elementwise_kernel", "RMSNorm"),
        ("act", "elementwise_kernel", "SiLU"),
        ("kv_cache_write", "index_put", "cache"),
        ("attn_residual", "vectorized_elementwise_kernel", "fused add + RMSNorm"),
        (None, "void at::native::vectorized_layer_norm_kernel<float>", "RMSNorm"),
    ],
)
def test_suggestion_fits_the_kernel_class(operator: str | None, name: str, words: str) -> None:
    k = _k(0, 10e-6, [_f("far_from_roof", 0.1)], operator=operator, roof_fraction=0.1, name=name)
    (g,) = rank_findings(None, [k])
    assert words in g["suggestion"]
    if operator not in ("gate_up_proj", "qkv_proj"):
        assert g["suggestion_key"] != "roof:gemm"  # no "check the GEMM shape" off a GEMM


def test_copy_cast_rule() -> None:
    copy = _k(0, 10e-6, operator="copy")
    assert [f["rule"] for f in kernel_findings(copy, 100e-6)] == ["copy_cast"]
    assert kernel_findings(copy, 2000e-6) == []  # 0.5 % of the run: skipped
    assert kernel_findings(_k(0, 10e-6, operator="act"), 100e-6) == []
    # Its stake is the whole kernel: a fused producer removes it.
    assert time_at_stake({"rule": "copy_cast", "source": "rooflens"}, dict(copy, roof_fraction=0.5)) == 10e-6  # fmt: skip


def test_ranking_puts_the_launch_gap_first() -> None:
    k = _k(0, 30e-6, [_f("far_from_roof", 0.1)], operator="act", roof_fraction=0.1)
    assert [f["rule"] for f in rank_findings(_run(0.7), [k])] == ["launch_bound", "far_from_roof"]


def test_only_global_ncu_speedups_are_time_at_stake() -> None:
    from rooflens.analysis.findings import time_at_stake

    kernel = {"duration_s": 10e-6, "roof_fraction": 0.5}
    glob = {
        "source": "ncu",
        "rule": "LaunchConfiguration",
        "estimated_speedup": 0.0303,
        "speedup_type": "global",
    }
    local = {
        "source": "ncu",
        "rule": "TheoreticalOccupancy",
        "estimated_speedup": 0.8125,
        "speedup_type": "local",
    }
    assert time_at_stake(glob, kernel) == 10e-6 * 0.0303
    assert time_at_stake(local, kernel) == 0.0
