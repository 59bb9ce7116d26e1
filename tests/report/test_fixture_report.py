"""Reports over the real H200 captures (tests/fixtures): every section and kernel, figures agree."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from rooflens.analysis.assemble import build_report
from rooflens.pipeline import analyse_inputs
from rooflens.report import RENDERERS
from rooflens.report.kernel_view import NCU_GROUPS_ALL, NCU_GROUPS_SHOWN
from rooflens.report.markdown import md_code

from .chromium import find_chromium, load
from .figures import close, figures, parse
from .mdtables import expand_numbers, split_row
from .test_html import every_kernel

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
RUNS = ["h200_llama3_8b_prefill", "h200_llama3_8b_decode16_eager"]


@pytest.fixture(scope="module", params=RUNS)
def real_doc(request: pytest.FixtureRequest) -> dict[str, Any]:
    run_dir = FIXTURES / request.param
    if not (run_dir / "manifest.json").is_file():
        pytest.skip(f"fixture {request.param} not present")
    return build_report(**analyse_inputs([run_dir], {}, None, None)).to_dict()


def test_every_section_and_kernel(real_doc: dict[str, Any]) -> None:
    kernels = real_doc["timeline"]["kernels"]
    for lang, titles in (
        ("zh", ["# 一、", "# 二、", "# 三、", "# 四、"]),
        ("en", ["# 1. ", "# 2. ", "# 3. ", "# 4. "]),
    ):
        md = RENDERERS["md"].render(real_doc, lang)
        assert all(t in md for t in titles)
        sec2 = md.split(titles[2])[0]
        rows = [r for r in sec2.splitlines() if re.match(r"^\| [\d–, …]+ \| `", r)]
        cells = [split_row(r) for r in rows]
        assert sum(int(c[5]) for c in cells) == len(kernels)  # each kernel in one group
        firsts = [int(c[0].split(",")[0].split("–")[0]) for c in cells]
        assert firsts == sorted(firsts) and firsts[0] == 1  # in order of first launch, from #1
        names = set(re.findall(r"^- N\d+: (.+)$", sec2, re.M))
        assert names == {md_code(k["name"]) for k in kernels}
        assert not re.search(r"\d\.\d{6,}", md)
    if real_doc["kernels"] is not None:
        md = RENDERERS["md"].render(real_doc, "en")
        n = _signatures(real_doc)  # all of a one-layer run's, else the largest NCU_GROUPS_SHOWN
        assert md.count("   - Full name: ") == (n if n <= NCU_GROUPS_ALL else NCU_GROUPS_SHOWN)


def _signatures(doc: dict[str, Any]) -> int:
    """Distinct (name, grid, block, operator, phase class) among the NCU kernels, by hand."""
    tl = {k["index"]: k for k in doc["timeline"]["kernels"]}
    sigs = set()
    for k in doc["kernels"]:
        t = tl.get(k.get("timeline_index"), {})
        phase = (t.get("phase") or "").split("[")[0]
        sigs.add((k["name"], str(t.get("grid")), str(t.get("block")), k.get("operator"), phase))
    return len(sigs)


def test_markdown_html_json_agree(real_doc: dict[str, Any]) -> None:
    md = RENDERERS["md"].render(real_doc, "en")
    html = RENDERERS["html"].render(real_doc, "en")
    exact = [k["duration_s"] for k in real_doc["timeline"]["kernels"]]
    rows, _, _ = every_kernel(html)
    shown_html = [parse(r[2]) for r in rows]
    assert len(shown_html) == len(exact)
    assert all(close(b, e) for b, e in zip(shown_html, exact, strict=True))
    # The grouped Markdown table: each group's total is the Σ of its kernels' durations.
    sec2 = md.split("# 3. ")[0]
    rows = [split_row(r) for r in sec2.splitlines() if re.match(r"^\| [\d–, …]+ \| `", r)]
    for r in rows:
        nums = expand_numbers(r[0])
        if len(nums) == int(r[5]):  # numbers not elided
            assert close(parse(r[6]), sum(exact[n - 1] for n in nums))
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
    doc = build_report(**analyse_inputs([run_dir], {}, None, None)).to_dict()
    assert "launch_bound" not in {f["rule"] for f in doc["comparison"]["findings"]}


def test_prefill_groups_rope_and_names_the_sampling_kernel() -> None:
    run_dir = FIXTURES / "h200_llama3_8b_prefill"
    if not (run_dir / "manifest.json").is_file():
        pytest.skip("fixture not present")
    doc = build_report(**analyse_inputs([run_dir], {}, None, None)).to_dict()
    comp = doc["comparison"]
    rope_row = next(o for o in comp["operators"] if o["name"] == "rope")
    rope = next(f for f in comp["findings"] if f["rule"] == "fragmented_operator")
    # 10 kernels, 28.7 us measured. The bundled H200 calibration matches this capture, so the
    # stake is what the implementation loses, measured − attainable, never below 0 (issue 10);
    # without a calibration it would be measured − predicted (0.546 us ideal).
    assert rope["subject"] == "rope" and rope["count"] == rope_row["kernel_count"] == 10
    assert rope_row["attainable_time_s"] is not None and rope["stake_basis"] == "attainable"
    loss = max(0.0, rope_row["measured_time_s"] - rope_row["attainable_time_s"])
    assert rope["time_at_stake_s"] == pytest.approx(loss)
    assert "rotary" in rope["suggestion"]
    # The argmax reduce kernel runs in the NVTX range `sample`: named so, not `other`.
    # (Unmatched while the predictor has no sampling operator; matched to `sampling` once it has.)
    reduce = next(k for k in doc["timeline"]["kernels"] if k["short_name"] == "reduce_kernel")
    if comp["unmatched_kernels"]:
        (unmatched,) = comp["unmatched_kernels"]
        assert unmatched["short_name"] == "reduce_kernel"
        assert unmatched["operator"] in ("sample", "sampling")  # the NVTX range, or its alias
    else:
        assert reduce["operator"] == "sampling"
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
