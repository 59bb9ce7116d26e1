"""The ideal / attainable / measured section and the opening summary, on a committed H200
capture (accuracy matrix) with the bundled H200 calibration."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from rooflens.analysis.assemble import build_report
from rooflens.pipeline import analyse_inputs
from rooflens.report import RENDERERS

RUN = Path(__file__).parents[1] / "fixtures" / "accuracy" / "h200_eager" / "llama-3-8b_b1_i128"


def _doc(calibration: str | None) -> dict[str, Any]:
    return build_report(**analyse_inputs([RUN], {"calibration": calibration}, None, None)).to_dict()


@pytest.fixture(scope="module")
def doc() -> dict[str, Any]:
    return _doc(None)


def test_comparison_rows_split_the_gap_in_two(doc: dict[str, Any]) -> None:
    rows = [o for o in doc["comparison"]["operators"] if o["measured_time_s"]]
    assert rows and all(o["attainable_time_s"] is not None for o in rows)
    for o in rows:
        # ideal → attainable times attainable → measured is the whole gap, measured / ideal
        whole = o["measured_time_s"] / o["predicted_time_s"]
        assert o["gpu_ratio"] * o["implementation_ratio"] == pytest.approx(whole)
        assert o["implementation_gap_s"] == pytest.approx(
            o["measured_time_s"] - o["attainable_time_s"]
        )


def test_markdown_table_is_ranked_by_what_the_implementation_loses(doc: dict[str, Any]) -> None:
    md = RENDERERS["md"].render(doc, "en")
    section = md.split("## Ideal / attainable / measured", 1)[1].split("\n## ", 1)[0]
    names = re.findall(r"^\| `(\w+)` \| `(\w+)` \|", section, flags=re.M)
    gaps = {(o["name"], o["phase"]): o["implementation_gap_s"] for o in doc["comparison"]["operators"]
            if o["measured_time_s"]}  # fmt: skip
    shown = [gaps[n] for n in names]
    assert len(shown) == min(12, len(gaps)) and shown == sorted(shown, reverse=True)
    assert max(gaps.values()) == shown[0]
    # the bubble line carries the chosen run's measured ratio and the predicted eager one
    tl = doc["timeline"]
    measured = next(r["bubble_ratio"] for r in tl["runs"] if r["name"] == tl["chosen_run"])
    eager = doc["prediction"]["run_timeline"]["eager"]
    lo, hi = eager["bubble_ratio_range"]  # the bundled calibration timed several host processes
    at = eager["at_run_host"]
    line = next(x for x in section.splitlines() if x.startswith("- Bubble ratio (eager)"))
    assert line.startswith(f"- Bubble ratio (eager): predicted {eager['bubble_ratio']:.1%} (")
    assert f"{lo:.1%}–{hi:.1%}), measured {measured:.1%}; " in line
    assert f"({at['host_scale']:.2f}× the calibrated host costs)" in line
    assert line.endswith(f"the model gives {at['bubble_ratio']:.1%}")
    # and the host line sets the predicted host time against the run's range on the host
    chosen = next(r for r in tl["runs"] if r["name"] == tl["chosen_run"])
    host = doc["prediction"]["run_timeline"]["eager"]["host_time_s"]
    ratio = chosen["range_duration_s"] / host
    line = next(x for x in section.splitlines() if x.startswith("- Host time of the run"))
    assert f"{ratio:.2f}×" in line and f"{chosen['range_duration_s'] * 1e3:.3g} ms" in line
    assert at["host_scale"] == pytest.approx(ratio)  # the pipeline passed the run's host time
    zh = RENDERERS["md"].render(doc, "zh")
    assert f"为校准主机开销的 {ratio:.2f}×" in zh


def test_the_report_opens_with_a_summary_in_both_languages(doc: dict[str, Any]) -> None:
    en = RENDERERS["md"].render(doc, "en")
    zh = RENDERERS["md"].render(doc, "zh")
    assert en.index("# Summary") < en.index("# 1.") and zh.index("# 摘要") < zh.index("# 一、")
    tl = doc["timeline"]
    measured = next(r["bubble_ratio"] for r in tl["runs"] if r["name"] == tl["chosen_run"])
    assert measured > 0.2  # this eager b1 capture is launch-bound: the first advice says so
    assert "First: the run is launch-bound" in en
    html = RENDERERS["html"].render(doc, "en")
    assert 'id="summary"' in html and 'id="attainable"' in html


def test_without_calibration_the_section_says_so() -> None:
    doc = _doc("none")
    assert doc["prediction"]["calibration"] is None
    md = RENDERERS["md"].render(doc, "en")
    assert "No matching calibration" in md and "# Summary" not in md
