"""Findings rank what the implementation loses (issue 10, item 4), on committed H200 captures
with the bundled H200 calibration: the operator findings' time at stake is measured − attainable
of their comparison rows (derived here from the rows and the kernels), ranked by it; without a
calibration, measured − ideal as before; the table says which, in zh and en."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from rooflens.analysis.assemble import build_report
from rooflens.pipeline import analyse_inputs
from rooflens.report import RENDERERS
from rooflens.vocab import canonical_phase

FIXTURES = Path(__file__).parents[1] / "fixtures"
RUN = FIXTURES / "accuracy" / "h200_eager" / "llama-3-8b_b1_i128"
PREFILL = FIXTURES / "h200_llama3_8b_prefill"  # with NCU: roof groups per operator


def _doc(run: Path, calibration: str | None) -> dict[str, Any]:
    return build_report(**analyse_inputs([run], {"calibration": calibration}, None, None)).to_dict()


@pytest.fixture(scope="module")
def calibrated() -> dict[str, Any]:
    return _doc(RUN, None)


@pytest.fixture(scope="module")
def ideal() -> dict[str, Any]:
    return _doc(RUN, "none")


def _rows(doc: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(o["name"], o["phase"]): o for o in doc["comparison"]["operators"]}


def _operator_findings(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return [f for f in doc["comparison"]["findings"] if f["rule"] == "fragmented_operator"]


def test_operator_findings_stake_measured_minus_attainable_ranked(
    calibrated: dict[str, Any],
) -> None:
    assert calibrated["prediction"]["calibration"] is not None
    rows, found = _rows(calibrated), _operator_findings(calibrated)
    assert {(f["operator"], f["phase"]) for f in found} == {("rope", "prefill"), ("rope", "decode")}
    lost = []
    for f in found:
        o = rows[(f["operator"], f["phase"])]
        assert f["stake_basis"] == "attainable"
        # what the implementation loses; none when it beat the attainable time
        loss = max(0.0, o["measured_time_s"] - o["attainable_time_s"])
        assert f["time_at_stake_s"] == pytest.approx(loss)
        lost.append(loss)
    assert lost == sorted(lost, reverse=True)  # ranked by what the implementation loses
    # The run-level finding is unchanged: idle time of the chosen run.
    top = calibrated["comparison"]["findings"][0]
    run = next(r for r in calibrated["timeline"]["runs"] if r["name"] == top["subject"])
    assert top["rule"] == "launch_bound" and top["stake_basis"] == "idle"
    assert top["time_at_stake_s"] == pytest.approx(run["window_s"] - run["gpu_busy_s"])


def test_without_calibration_the_ideal_basis(ideal: dict[str, Any]) -> None:
    assert ideal["prediction"]["calibration"] is None
    rows = _rows(ideal)
    for f in _operator_findings(ideal):
        o = rows[(f["operator"], f["phase"])]
        assert f["stake_basis"] == "ideal"
        assert f["time_at_stake_s"] == pytest.approx(o["measured_time_s"] - o["predicted_time_s"])


def test_roof_groups_on_ncu_kernels_stake_their_share_beyond_attainable() -> None:
    """Each rooflens roof/diagnosis group stakes Σ over its kernels of duration × (measured −
    attainable) / measured of the kernel's (operator, phase) row, floored at 0."""
    if not (PREFILL / "manifest.json").is_file():
        pytest.skip("fixture not present")
    doc = _doc(PREFILL, None)
    rows = _rows(doc)
    tl = {k["index"]: k for k in doc["timeline"]["kernels"]}
    op_of = {k["index"]: k["operator"] for k in doc["comparison"]["kernel_operators"]}
    groups = [f for f in doc["comparison"]["findings"]
              if f["source"] == "rooflens" and f["rule"] not in ("launch_bound", "fragmented_operator")]  # fmt: skip
    assert len(groups) >= 5 and {f["stake_basis"] for f in groups} == {"attainable"}
    whole = 0
    for f in groups:
        expected = 0.0
        for i in f["kernel_indices"]:
            o = rows[(op_of[i], canonical_phase(tl[i]["phase"]))]
            share = max(0.0, o["measured_time_s"] - o["attainable_time_s"]) / o["measured_time_s"]
            expected += tl[i]["duration_s"] * share
        assert f["time_at_stake_s"] == pytest.approx(expected, abs=1e-15)
        o = rows[(f["subject"], "prefill")]
        if f["count"] == o["kernel_count"]:  # the group holds all of the row's kernels
            whole += 1
            assert f["time_at_stake_s"] == pytest.approx(
                max(0.0, o["measured_time_s"] - o["attainable_time_s"]), abs=1e-15
            )
    assert whole >= 3
    stakes = [f["time_at_stake_s"] for f in doc["comparison"]["findings"]]
    assert stakes == sorted(stakes, reverse=True)


@pytest.mark.parametrize(
    ("lang", "attainable", "roofline"),
    [("en", "Time at stake (beyond attainable)", "Time at stake (beyond the roofline)"),
     ("zh", "涉及时间(超出可达)", "涉及时间(超出 roofline)")],
)  # fmt: skip
def test_table_header_says_which_basis(
    calibrated: dict[str, Any], ideal: dict[str, Any], lang: str, attainable: str, roofline: str
) -> None:
    for doc, said, not_said in ((calibrated, attainable, roofline), (ideal, roofline, attainable)):
        for fmt in ("md", "html"):
            text = RENDERERS[fmt].render(doc, lang)
            assert said in text and not_said not in text
    md = RENDERERS["md"].render(calibrated, lang)
    assert ("measured − attainable" if lang == "en" else "实测 − 可达") in md
