"""build_report: metadata, comparison and findings added; inputs left untouched."""

from __future__ import annotations

import copy
from typing import Any

from rooflens import __version__
from rooflens.analysis.assemble import build_report

from .synthetic import synthetic_parts


def test_metadata_and_sections(doc: dict[str, Any]) -> None:
    assert doc["schema_version"] == "1.5"
    assert doc["tool"] == {"name": "rooflens", "version": __version__}
    assert doc["generated_at"] == "2026-11-26T02:30:00+00:00"
    assert set(doc) >= {
        "header",
        "gpu",
        "prediction",
        "timeline",
        "kernels",
        "measured",
        "comparison",
    }


def test_inputs_not_mutated() -> None:
    parts = synthetic_parts()
    before = copy.deepcopy(parts)
    build_report(**parts)
    assert parts == before


def test_rooflens_rules_attached_to_ncu_blocks(doc: dict[str, Any]) -> None:
    # The flash kernel (index 16) keeps the roofline rules analysis.kernels put on it; nothing
    # from analysis.findings repeats them.
    flash = doc["kernels"][16]
    assert flash["operator"] == "attention"
    assert [f["rule"] for f in flash["findings"]] == [
        "far_from_roof", "latency_bound", "low_l2_hit", "low_occupancy"
    ]  # fmt: skip
    # The copy kernel (index 15, 4.5 us of 274.7 us: ≥ 1 %) gets copy_cast added.
    assert [f["rule"] for f in doc["kernels"][15]["findings"]] == [
        "far_from_roof", "latency_bound", "copy_cast"
    ]  # fmt: skip
    # The GEMMs run at their theoretical occupancy (12 of 12.5 %): only NCU's own rule.
    qkv = doc["kernels"][7]
    assert [f["rule"] for f in qkv["findings"]] == ["TheoreticalOccupancy"]


def test_findings_ranked_by_time_at_stake(doc: dict[str, Any]) -> None:
    stakes = [f["time_at_stake_s"] for f in doc["comparison"]["findings"]]
    assert stakes == sorted(stakes, reverse=True)
    first = doc["comparison"]["findings"][0]
    run = doc["timeline"]["runs"][1]
    assert first["rule"] == "launch_bound"
    assert first["time_at_stake_s"] == run["window_s"] - run["gpu_busy_s"]


def test_prediction_only_report_has_no_comparison() -> None:
    parts = synthetic_parts()
    d = build_report(parts["header"], parts["gpu"], parts["prediction"], None, None, None).to_dict()
    assert d["comparison"] is None and d["timeline"] is None
