"""Reports stay bounded at any depth: a whole model's ~30,000 kernels give a Markdown under 800
lines, an HTML under 5 MB, charts with a bounded number of marks — and lose no kernel."""

from __future__ import annotations

import re
from html import unescape
from pathlib import Path
from typing import Any

import pytest

from rooflens.analysis.assemble import build_report
from rooflens.pipeline import analyse_inputs
from rooflens.report import RENDERERS
from rooflens.report.charts import TIMELINE_BARS_MAX, timeline_svg
from rooflens.report.view import strings
from rooflens.report_model import as_document

from .mdtables import table_after
from .synthetic import _LAYER, whole_model_parts

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
LAYERS, STEPS = 32, 64


@pytest.fixture(scope="module")
def big() -> dict[str, Any]:
    return build_report(
        **whole_model_parts(LAYERS, STEPS), generated_at="2026-12-01T00:00:00+00:00"
    ).to_dict()


@pytest.fixture(scope="module")
def big_md(big: dict[str, Any]) -> str:
    return RENDERERS["md"].render(big, "zh")


@pytest.fixture(scope="module")
def big_html(big: dict[str, Any]) -> str:
    return RENDERERS["html"].render(big, "en")


def test_whole_model_markdown_groups_identical_kernels(big: dict[str, Any], big_md: str) -> None:
    n = LAYERS * STEPS * len(_LAYER)
    assert len(big["timeline"]["kernels"]) == n == 30720
    assert big_md.count("\n") < 800
    rows = table_after(big_md, "## 所选运行的 kernels")
    # By hand: one group per (kernel name, operator) of the layer in prefill and one in decode
    # (all 63 decode steps together): 2 × 15 groups of 32 and 32 × 63 kernels.
    assert len(rows) == 2 * len(_LAYER)
    assert sorted(int(r[5]) for r in rows) == [LAYERS] * 15 + [LAYERS * (STEPS - 1)] * 15
    assert sum(int(r[5]) for r in rows) == n
    gate_up_decode = next(r for r in rows if r[3] == "`gate_up_proj`" and r[4] == "`decode`")
    assert gate_up_decode[6] == "80.6 ms"  # 2016 × 40 us
    assert gate_up_decode[7] == "40.0 us"


def test_whole_model_ncu_section_is_per_signature(big_md: str) -> None:
    sec3 = big_md.split("# 三、")[1].split("# 四、")[0]
    # 30 signatures (the layer's 15 kernels × prefill / decode): at most 16 blocks shown.
    assert len(re.findall(r"^\d+\. \*\*#\d+\*\* ", sec3, re.M)) == 16
    assert "另有 14 组签名(共 30 组" in sec3
    assert "NCU 采集了 30720 个 kernel,按签名(kernel 名称、grid、block、算子)合并为 30 组" in sec3


def test_whole_model_html_is_small_and_complete(big: dict[str, Any], big_html: str) -> None:
    assert len(big_html.encode("utf-8")) < 5_000_000
    # The collapsed listings hold kernels 1 … 10,000, then one line for the 20,720 others
    # (every one of which report.json keeps).
    pre = unescape(big_html.split('<pre class="kernels">')[1].split("</pre>")[0]).splitlines()
    numbers = [int(line.split("\t")[0]) for line in pre[1:-1]]
    assert numbers == list(range(1, 10_001))
    assert (
        pre[-1]
        == "… 20720 more kernels (numbers 10001–30720) not listed: every kernel is in report.json"
    )
    ncu = unescape(big_html.split('<pre class="ncu-kernels">')[1].split("</pre>")[0]).splitlines()
    assert len(ncu) == 1 + 10_000 + 1 and ncu[-1] == pre[-1]
    assert len(big["timeline"]["kernels"]) == len(big["kernels"]) == 30720
    assert '<details class="every-kernel">' in big_html


def test_whole_model_charts_stay_readable(big: dict[str, Any], big_html: str) -> None:
    # Roofline: one point per signature beyond 2,000 kernels (30 here).
    assert big_html.count('class="kernel-point"') == 30
    svg = timeline_svg(as_document(big), strings("en"))
    # The step with the most idle time in full — every step has 480 kernels 2 us apart, the
    # last one a 50 us stall on top — then one busy/idle bar per step.
    assert f"Timeline of decode[{STEPS - 1}]" in svg
    assert svg.count('class="kernel-bar"') == LAYERS * len(_LAYER) <= TIMELINE_BARS_MAX
    assert svg.count('class="step"') == STEPS


def test_one_huge_step_merges_bars_closer_than_a_pixel(big: dict[str, Any]) -> None:
    one_step = {**big, "timeline": {**big["timeline"], "kernels": [
        {**k, "phase": None} for k in big["timeline"]["kernels"]]}}  # fmt: skip
    svg = timeline_svg(as_document(one_step), strings("en"))
    bars = svg.count('class="kernel-bar"')
    assert 0 < bars <= 1100  # at most about one bar per pixel of a 1,080-pixel axis
    covered = sum(int(m) for m in re.findall(r'data-info="#\d+–\d+ \((\d+)\)', svg))
    singles = len(re.findall(r'data-info="#\d+ ', svg))
    assert covered + singles == 30720  # no kernel lost from the chart


HF = {"model": "llama-3-8b", "layers": 2, "batch": 4, "input_len": 256, "output_len": 8}


@pytest.mark.parametrize(
    "name",
    [
        "h200_llama3_8b_prefill",
        "h200_llama3_8b_decode16_eager",
        "h200_llama3_8b_decode4",
        # a foreign program, 2 layers, 8 tokens (was 17,700 lines): annotated and plain capture
        "h200_hf_llama/annotated",
        "h200_hf_llama/plain.sqlite",
        # the whole model: 32 layers, 16 output tokens, 12,832 kernels, all with NCU counters
        "h200_llama3_8b_32layers_o16",
    ],
)
def test_real_reports_stay_short(name: str) -> None:
    path = FIXTURES / name
    if not (path / "manifest.json").is_file() and not path.is_file():
        pytest.skip("fixture not present")
    overrides = HF if name.startswith("h200_hf_") else {}
    doc = build_report(**analyse_inputs([path], overrides, None, None)).to_dict()
    assert len(RENDERERS["html"].render(doc, "zh").encode()) < 5_000_000
    for lang in ("zh", "en"):
        md = RENDERERS["md"].render(doc, lang)
        assert md.count("\n") < 800
        # Before grouping, the 463-kernel eager decode listed every kernel: 3,349 lines.
    rows = table_after(md, "## Kernels of the chosen run")
    more = re.search(r"more group\(s\) \((\d+) kernels", md)  # groups beyond the 60 shown
    shown = sum(int(r[5]) for r in rows) + (int(more.group(1)) if more else 0)
    assert shown == len(doc["timeline"]["kernels"])


def test_per_name_and_unmatched_tables_show_30_rows(doc: dict[str, Any]) -> None:
    many = dict(doc)
    row = doc["kernel_groups"]["rows"][0]
    many["kernel_groups"] = {
        **doc["kernel_groups"],
        "rows": [{**row, "name": f"k{i}", "duration_s": 1e-3 / (i + 1)} for i in range(45)],
    }
    comp = doc["comparison"]
    unmatched = [{"index": i, "short_name": f"u{i}", "operator": "other", "duration_s": 1e-6 * (i + 1)}
                 for i in range(40)]  # fmt: skip
    many["comparison"] = {**comp, "unmatched_kernels": unmatched}
    md = RENDERERS["md"].render(many, "en")
    per_name = table_after(md, "## Summary per kernel name")
    assert [r[0] for r in per_name] == [f"`k{i}`" for i in range(30)]
    assert "15 more row(s) are in report.html and report.json." in md
    rows = table_after(md, "## Unmatched kernels")
    # the most time first: u39 (40 us) down to u10 (11 us); #n = index + 1
    assert [r[1] for r in rows] == [f"`u{i}`" for i in range(39, 9, -1)]
    assert rows[0][0] == "40"
    assert "10 more row(s) are in report.html and report.json." in md
    html = RENDERERS["html"].render(many, "en")
    assert html.count('<td class="name">`u') == 0 and html.count(">u0<") == 1  # HTML: all rows
