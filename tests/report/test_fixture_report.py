"""Reports over the real H200 captures (tests/fixtures): every section and kernel, figures agree."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from rooflens.commands.report import analyse_inputs
from rooflens.report import RENDERERS
from rooflens.report.assemble import build_report
from rooflens.report.markdown import md_code

from .chromium import find_chromium, load
from .figures import close, figures, parse

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
RUNS = ["h200_llama3_8b_prefill", "h200_llama3_8b_decode16_eager"]


@pytest.fixture(scope="module", params=RUNS)
def real_doc(request: pytest.FixtureRequest) -> dict[str, Any]:
    run_dir = FIXTURES / request.param
    if not (run_dir / "manifest.json").is_file():
        pytest.skip(f"fixture {request.param} not present")
    return build_report(**analyse_inputs([run_dir], {}, None, None))


def test_every_section_and_kernel(real_doc: dict[str, Any]) -> None:
    kernels = real_doc["timeline"]["kernels"]
    for lang, titles in (
        ("zh", ["# 一、", "# 二、", "# 三、", "# 四、"]),
        ("en", ["# 1. ", "# 2. ", "# 3. ", "# 4. "]),
    ):
        md = RENDERERS["md"].render(real_doc, lang)
        assert all(t in md for t in titles)
        sec2 = md.split(titles[2])[0]
        listed = re.findall(r"^\d+\. \*\*kernel name\*\*: (.+)$", sec2, re.M)
        assert listed == [md_code(k["name"]) for k in kernels]
        assert not re.search(r"\d\.\d{6,}", md)
    if real_doc["kernels"] is not None:
        md = RENDERERS["md"].render(real_doc, "en")
        assert md.count("   - Full name: ") == len(real_doc["kernels"])


def test_markdown_html_json_agree(real_doc: dict[str, Any]) -> None:
    md = RENDERERS["md"].render(real_doc, "en")
    html = RENDERERS["html"].render(real_doc, "en")
    exact = [k["duration_s"] for k in real_doc["timeline"]["kernels"]]
    sec2 = md.split("# 3. ")[0]
    shown_md = [parse(x) for x in re.findall(r"^   - Duration: (\S+ \S+)$", sec2, re.M)]
    table = html.split('<table class="kernels">')[1].split("</table>")[0]
    shown_html = [parse(x) for x in re.findall(r'</details></td><td class="num">(.*?)</td>', table)]
    assert len(shown_md) == len(shown_html) == len(exact)
    assert all(
        close(a, e) and close(b, e) for a, b, e in zip(shown_md, shown_html, exact, strict=True)
    )
    run = next(
        r for r in real_doc["timeline"]["runs"] if r["name"] == real_doc["timeline"]["chosen_run"]
    )
    line = next(x for x in md.splitlines() if "range duration:" in x)
    assert close(parse(line.split("range duration: ")[1]), run["range_duration_s"])
    assert close(parse(line.split("bubble ratio ")[1]), run["bubble_ratio"] * 100)


def test_zh_and_en_same_figures(real_doc: dict[str, Any]) -> None:
    assert sorted(figures(RENDERERS["md"].render(real_doc, "zh"))) == sorted(
        figures(RENDERERS["md"].render(real_doc, "en"))
    )


def test_launch_bound_eager_layer_is_the_top_finding(real_doc: dict[str, Any]) -> None:
    # GPU.md: the eager layer is launch-bound — a real finding the report must surface
    # (prefill idles 48.5 % of its window, eager decode 28.6 %).
    top = real_doc["comparison"]["findings"][0]
    assert top["rule"] == "launch_bound" and top["value"] > top["threshold"]


@pytest.mark.skipif(find_chromium() is None, reason="chromium not installed")
def test_real_report_loads_in_chromium(real_doc: dict[str, Any], tmp_path: Path) -> None:
    page = tmp_path / "report.html"
    page.write_text(RENDERERS["html"].render(real_doc, "zh"), encoding="utf-8")
    dom, console = load(page)
    assert console == [] and 'data-charts="3"' in dom


def test_cuda_graph_decode_is_not_launch_bound() -> None:
    run_dir = FIXTURES / "h200_llama3_8b_decode16_graph"
    if not (run_dir / "manifest.json").is_file():
        pytest.skip("fixture not present")
    doc = build_report(**analyse_inputs([run_dir], {}, None, None))
    assert "launch_bound" not in {f["rule"] for f in doc["comparison"]["findings"]}


def test_prefill_groups_rope_and_names_the_sampling_kernel() -> None:
    run_dir = FIXTURES / "h200_llama3_8b_prefill"
    if not (run_dir / "manifest.json").is_file():
        pytest.skip("fixture not present")
    doc = build_report(**analyse_inputs([run_dir], {}, None, None))
    comp = doc["comparison"]
    rope_row = next(o for o in comp["operators"] if o["name"] == "rope")
    rope = next(f for f in comp["findings"] if f["rule"] == "fragmented_operator")
    # 10 kernels, 28.7 us measured against 0.546 us predicted: stake = the difference.
    assert rope["subject"] == "rope" and rope["count"] == rope_row["kernel_count"] == 10
    assert rope["time_at_stake_s"] == rope_row["measured_time_s"] - rope_row["predicted_time_s"]
    assert "rotary" in rope["suggestion"]
    # The argmax reduce kernel runs in the NVTX range `sample`: named so, not `other`.
    (unmatched,) = comp["unmatched_kernels"]
    assert unmatched["short_name"] == "reduce_kernel" and unmatched["operator"] == "sample"
    # One group per (rule, subject); a kernel's time is in one group at most per rule family.
    keys = [(f["source"], f["rule"], f["subject"]) for f in comp["findings"]]
    assert len(keys) == len(set(keys))
    seen: set[int] = set()
    for f in comp["findings"]:
        if f["source"] == "rooflens" and f["rule"] in (
            "far_from_roof",
            "below_roof",
            "fragmented_operator",
        ):
            assert seen.isdisjoint(f["kernel_indices"])
            seen.update(f["kernel_indices"])
