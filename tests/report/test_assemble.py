"""build_report: metadata, comparison and findings added; inputs left untouched."""

from __future__ import annotations

import copy
from typing import Any

from rooflens import __version__
from rooflens.report.assemble import build_report

from .synthetic import synthetic_parts


def test_metadata_and_sections(doc: dict[str, Any]) -> None:
    assert doc["schema_version"] == "1.0"
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
    # The flash kernel (index 16): roof fraction 4.24 % < 30 %, occupancy 12 % < 25 % (of 50 %
    # possible), L2 hit 40 % < 50 %.
    flash = doc["kernels"][16]
    assert flash["operator"] == "attention"
    assert {f["rule"] for f in flash["findings"]} == {"below_roof", "low_occupancy", "low_l2_hit"}
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
    d = build_report(parts["header"], parts["gpu"], parts["prediction"], None, None, None)
    assert d["comparison"] is None and d["timeline"] is None
