"""`rooflens diff` on the committed eager vs CUDA-graph decode captures, and on identical inputs."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from rooflens.analysis.diff import diff_reports, regressions
from rooflens.pipeline import analyze
from rooflens.report_model import DiffDocument

FIX = Path(__file__).resolve().parents[1] / "fixtures"
EAGER = FIX / "h200_llama3_8b_decode16_eager"
GRAPH = FIX / "h200_llama3_8b_decode16_graph"


@pytest.fixture(scope="module")
def reports() -> tuple[dict, dict]:
    return analyze(EAGER).doc, analyze(GRAPH).doc


def _chosen(doc: dict) -> dict:
    tl = doc["timeline"]
    return next(r for r in tl["runs"] if r["name"] == tl["chosen_run"])


def test_graph_run_shows_fewer_bubbles(reports: tuple[dict, dict]) -> None:
    a, b = reports
    d = diff_reports(a, b).to_dict()
    ra, rb = _chosen(a), _chosen(b)
    assert (
        d["run"]["a_bubble_ratio"] == ra["bubble_ratio"]
        and d["run"]["b_bubble_ratio"] == rb["bubble_ratio"]
    )
    # The eager decode is launch-bound; replaying the steps from CUDA graphs closes most gaps.
    assert d["run"]["bubble_change_points"] == pytest.approx(
        (rb["bubble_ratio"] - ra["bubble_ratio"]) * 100
    )
    assert d["run"]["bubble_change_points"] < -10
    assert d["run"]["range_change"] == pytest.approx(
        rb["range_duration_s"] / ra["range_duration_s"] - 1
    )
    assert d["run"]["range_change"] < -0.5
    # The launch-bound finding is gone with CUDA graphs.
    assert ("launch_bound", "run") in {(f["rule"], f["subject"]) for f in d["findings"]["vanished"]}


def test_phase_times_sum_the_chosen_runs_kernels(reports: tuple[dict, dict]) -> None:
    a, b = reports
    d = diff_reports(a, b).to_dict()
    for side, doc in (("a", a), ("b", b)):
        kernels = doc["timeline"]["kernels"]
        by_phase: dict[str, float] = {}
        for k in kernels:
            key = "decode" if (k["phase"] or "").startswith("decode") else "prefill"
            by_phase[key] = by_phase.get(key, 0.0) + k["duration_s"]
        got = {p["phase"]: p[f"{side}_time_s"] for p in d["phases"]}
        assert got == pytest.approx(by_phase)
        assert (
            sum(p[f"{side}_kernels"] for p in d["phases"])
            == len(kernels)
            == _chosen(doc)["kernel_count"]
        )


def test_identical_inputs_show_no_change(reports: tuple[dict, dict]) -> None:
    a, _ = reports
    diff = diff_reports(a, copy.deepcopy(a))
    d = diff.to_dict()
    assert all(p["change"] == 0 for p in d["phases"])
    assert all(o["change"] in (0, None) for o in d["operators"])
    assert d["run"]["bubble_change_points"] == 0
    assert d["findings"] == {"appeared": [], "vanished": []}
    assert regressions(diff, 0.0) == []


def test_regression_gate_names_the_slower_phase(reports: tuple[dict, dict]) -> None:
    a, _ = reports
    b = copy.deepcopy(a)
    for k in b["timeline"]["kernels"]:
        if (k["phase"] or "").startswith("decode"):
            k["duration_s"] *= 1.2
    d = diff_reports(a, b)
    decode = next(p for p in d.phases if p.phase == "decode")
    assert decode.change == pytest.approx(0.2)
    assert [line.split(":")[0] for line in regressions(d, 0.1)] == ["decode"]
    assert regressions(d, 0.25) == []


def test_cli_writes_three_files_and_gates(
    tmp_path: Path, reports: tuple[dict, dict], cli: Any
) -> None:
    a, _ = reports
    slow = copy.deepcopy(a)
    for k in slow["timeline"]["kernels"]:
        k["duration_s"] *= 1.5
    pa, pb = tmp_path / "a.json", tmp_path / "b.json"
    pa.write_text(json.dumps(a))
    pb.write_text(json.dumps(slow))
    out = tmp_path / "diff"
    code, output = cli(["diff", str(pa), str(pb), "--out", str(out), "--fail-above", "10"])
    assert code == 1, output
    assert sorted(p.name for p in out.iterdir()) == ["diff.html", "diff.json", "diff.md"]
    assert "+50.0%" in (out / "diff.md").read_text()
    written = json.loads((out / "diff.json").read_text())
    assert written["phases"] and all(p["change"] == pytest.approx(0.5) for p in written["phases"])
    # diff.json reads back into the typed diff document and writes the same bytes.
    assert DiffDocument.from_dict(written).to_json() == (out / "diff.json").read_bytes()
    code, output = cli(["diff", str(pa), str(pa), "--out", str(out)])
    assert code == 2 and "--force" in output
    code, output = cli(
        ["diff", str(pa), str(pa), "--out", str(out), "--force", "--fail-above", "0"]
    )
    assert code == 0, output
    code, output = cli(["diff", str(pa), str(tmp_path / "missing.json")])
    assert code == 2 and "no such file" in output


def test_zh_rendering_has_chinese_headings(reports: tuple[dict, dict]) -> None:
    from rooflens.report.diffrender import DIFF_RENDERERS

    a, b = reports
    md = DIFF_RENDERERS["md"].render(diff_reports(a, b), "zh")
    assert "# 两次运行对比" in md and "空泡率" in md
