"""Findings on a calibration (issue 10, item 4): operator-level stakes count what the
implementation loses (measured − attainable), hand-derived on synthetic rows and kernels."""

from __future__ import annotations

from typing import Any

import pytest

from rooflens.analysis.findings import rank_findings


def _f(rule: str, value: float) -> dict[str, Any]:
    return {"rule": rule, "source": "rooflens", "severity": "high", "message": rule,
            "metric": "roof_fraction", "value": value, "threshold": 0.2}  # fmt: skip


def _k(i: int, dur: float, operator: str, roof: float, **kw: Any) -> dict[str, Any]:
    return {"index": i, "short_name": f"k{i}", "name": f"k{i}", "duration_s": dur,
            "operator": operator, "roof_fraction": roof,
            "findings": [_f("far_from_roof", roof)], **kw}  # fmt: skip


def _row(name: str, meas: float, pred: float, att: float | None, phase: str = "prefill") -> dict[str, Any]:  # fmt: skip
    return {"name": name, "phase": phase, "measured_time_s": meas, "predicted_time_s": pred,
            "attainable_time_s": att}  # fmt: skip


def _by_subject(found: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {f["subject"]: f for f in found}


def test_roof_groups_stake_measured_minus_attainable_and_rank_by_it() -> None:
    # act: 2 kernels, 10 + 30 = 40 us measured, attainable 30 us → 10 us lost by the implementation
    #      (on the roofline it would be 10·0.9 + 30·0.9 = 36 us).
    # attn_norm: 1 kernel of 20 us at 5 % of its roof (19 us beyond the roofline), attainable 5 us
    #      → 15 us.  The roofline ranks act first; attainable ranks attn_norm first.
    ks = [_k(0, 10e-6, "act", 0.1), _k(1, 30e-6, "act", 0.1), _k(2, 20e-6, "attn_norm", 0.05)]
    rows = [_row("act", 40e-6, 2e-6, 30e-6), _row("attn_norm", 20e-6, 1e-6, 5e-6)]
    ideal = rank_findings(None, ks, [dict(r, attainable_time_s=None) for r in rows])
    assert [f["subject"] for f in ideal] == ["act", "attn_norm"]
    assert [f["time_at_stake_s"] for f in ideal] == pytest.approx([36e-6, 19e-6])
    assert {f["stake_basis"] for f in ideal} == {"ideal"}
    att = rank_findings(None, ks, rows)
    assert [f["subject"] for f in att] == ["attn_norm", "act"]
    assert [f["time_at_stake_s"] for f in att] == pytest.approx([15e-6, 10e-6])
    assert {f["stake_basis"] for f in att} == {"attainable"}
    # severity follows the stake: 15 us of 60 us of kernel time = 25 % ≥ 20 %: high
    assert _by_subject(att)["attn_norm"]["severity"] == "high"


def test_part_of_a_row_stakes_its_share_and_faster_than_attainable_stakes_nothing() -> None:
    # Only one of act's two kernels fires: its share is 10 us × (40 − 30) / 40 = 2.5 us.
    ks = [_k(0, 10e-6, "act", 0.1), dict(_k(1, 30e-6, "act", 0.9), findings=[]),
          _k(2, 4e-6, "o_proj", 0.3)]  # fmt: skip
    rows = [_row("act", 40e-6, 2e-6, 30e-6), _row("o_proj", 4e-6, 3e-6, 5e-6)]
    by = _by_subject(rank_findings(None, ks, rows))
    assert by["act"]["time_at_stake_s"] == pytest.approx(2.5e-6)
    # o_proj measured 4 us against 5 us attainable (L2-resident, say): nothing to win.
    assert by["o_proj"]["time_at_stake_s"] == 0.0 and by["o_proj"]["stake_basis"] == "attainable"


def test_a_group_with_an_uncalibrated_kernel_falls_back_to_the_roofline() -> None:
    # act runs in prefill (calibrated row) and decode (no attainable time): the whole group
    # counts the roofline, 10·0.9 + 10·0.9 = 18 us; a kernel with no operator row likewise.
    ks = [_k(0, 10e-6, "act", 0.1, phase="prefill"), _k(1, 10e-6, "act", 0.1, phase="decode[1]"),
          _k(2, 10e-6, "other", 0.5)]  # fmt: skip
    rows = [_row("act", 10e-6, 1e-6, 5e-6), _row("act", 10e-6, 1e-6, None, "decode")]
    by = _by_subject(rank_findings(None, ks, rows))
    assert by["act"]["time_at_stake_s"] == pytest.approx(18e-6)
    assert by["act"]["stake_basis"] == "ideal"
    assert (by["k2"]["time_at_stake_s"], by["k2"]["stake_basis"]) == (pytest.approx(5e-6), "ideal")


def test_fragmented_operator_stakes_measured_minus_attainable() -> None:
    rope = [_k(i, 3e-6, "rope", 0.05) for i in range(4)]
    row = _row("rope", 12e-6, 1e-6, 4e-6)
    (g,) = rank_findings(None, rope, [row])
    assert g["rule"] == "fragmented_operator" and g["stake_basis"] == "attainable"
    assert g["time_at_stake_s"] == pytest.approx(8e-6)  # 12 − 4 us
    assert g["attainable_time_s"] == 4e-6 and g["value"] == pytest.approx(12.0)  # fires on ideal
    (g,) = rank_findings(None, rope, [dict(row, attainable_time_s=None)])
    assert (g["time_at_stake_s"], g["stake_basis"]) == (pytest.approx(11e-6), "ideal")


def test_run_and_ncu_findings_keep_their_basis() -> None:
    ncu = {"rule": "Uncoalesced", "source": "ncu", "severity": "medium", "message": "m",
           "estimated_speedup": 0.5}  # fmt: skip
    copy = {"index": 1, "short_name": "c", "name": "c", "duration_s": 10e-6, "operator": "copy",
            "findings": [{"rule": "copy_cast", "source": "rooflens", "metric": "operator"}]}  # fmt: skip
    ks = [dict(_k(0, 20e-6, "qkv_proj", 0.9), findings=[ncu]), copy]
    rows = [_row("qkv_proj", 20e-6, 18e-6, 19e-6), _row("copy", 10e-6, 1e-6, 2e-6)]
    tl = {"chosen_run": "R", "runs": [{"name": "R", "bubble_ratio": 0.5, "window_s": 60e-6,
                                       "gpu_busy_s": 30e-6}]}  # fmt: skip
    by = {f["rule"]: f for f in rank_findings(tl, ks, rows)}
    assert (by["launch_bound"]["time_at_stake_s"], by["launch_bound"]["stake_basis"]) == (
        pytest.approx(30e-6), "idle")  # fmt: skip
    assert (by["Uncoalesced"]["time_at_stake_s"], by["Uncoalesced"]["stake_basis"]) == (
        pytest.approx(10e-6), "ncu")  # fmt: skip
    assert (by["copy_cast"]["time_at_stake_s"], by["copy_cast"]["stake_basis"]) == (
        pytest.approx(10e-6), "duration")  # fmt: skip
