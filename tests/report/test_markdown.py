"""The Markdown report: sections, every kernel, figures equal to report.json, escaping, zh = en."""

from __future__ import annotations

import re
from typing import Any

from rooflens.report.markdown import MarkdownRenderer, md_cell, md_code

from .figures import close, figures, parse
from .synthetic import NVTX_SCRIPT_NAME, PIPE_NAME, SCRIPT_NAME, kernel_specs

ZH_SECTIONS = [
    "# 集成性能分析报告",
    "# 一、Roofline 预测与实测指标",
    "# 二、Nsys 全局性能概览",
    "# 三、 NCU 深度分析结果",
    "# 四、算子视图",
]
EN_SECTIONS = [
    "# Integrated performance report",
    "# 1. Roofline prediction",
    "# 2. Nsys global overview",
    "# 3. NCU deep analysis",
    "# 4. Operator view",
]


def test_every_section_in_seed_order(md_zh: str, md_en: str) -> None:
    for text, titles in ((md_zh, ZH_SECTIONS), (md_en, EN_SECTIONS)):
        positions = [text.index(t) for t in titles]
        assert positions == sorted(positions)


def test_seed_line_formats_kept_in_zh(md_zh: str) -> None:
    for prefix in (
        " Prefill 阶段: 强度 ",
        " Decode 单token: 强度 ",
        " 总体估计: 强度 ",
        " 实测均值: SM效率 ",
        " 利用率: 计算 ",
        " 差异: 性能差 ",
        " 总kernels数量: 32",
        " 总kernel执行时间: ",
    ):
        assert prefix in md_zh, prefix
    assert re.search(r"`Layer\[0\]#Run\[2\]` 范围持续时间: \S+ \S+, 空泡率 \S+%", md_zh)


def test_every_kernel_listed_in_sections_2_and_3(md_en: str) -> None:
    names = [s[0] for s in kernel_specs()]
    sec2 = md_en.split("# 3. NCU")[0]
    sec3 = md_en.split("# 3. NCU")[1].split("# 4. Operator")[0]
    listed = re.findall(r"^\d+\. \*\*kernel name\*\*: (.+)$", sec2, re.M)
    assert listed == [md_code(n) for n in names]
    assert len(re.findall(r"^   - Full name: ", sec3, re.M)) == len(names)


def test_kernel_durations_match_json(md_zh: str, doc: dict[str, Any]) -> None:
    shown = [parse(x) for x in re.findall(r"^   - 执行时间: (\S+ \S+)$", md_zh, re.M)]
    exact = [k["duration_s"] for k in doc["timeline"]["kernels"]]
    assert len(shown) == len(exact) == 32
    assert all(close(a, b) for a, b in zip(shown, exact, strict=True))


def test_section_one_figures_match_json(md_en: str, doc: dict[str, Any]) -> None:
    pre = doc["prediction"]["phases"]["prefill"]
    line = next(x for x in md_en.splitlines() if x.startswith(" Prefill phase:"))
    m = re.search(
        r"intensity (.+?), bound (\w+), performance (.+?), predicted time (.+?), memory traffic (.+)$",
        line,
    )
    assert m
    assert close(parse(m.group(1)), pre["intensity"]) and m.group(2) == pre["bound"]
    assert close(parse(m.group(3)), pre["performance_flops"])
    assert close(parse(m.group(4)), pre["time_s"]) and close(parse(m.group(5)), pre["bytes"])
    meas = doc["measured"]
    line = next(x for x in md_en.splitlines() if x.startswith(" Measured:"))
    m = re.search(
        r"SM efficiency (.+?), memory bandwidth (.+?), arithmetic intensity (.+?), compute throughput (.+?), inferred",
        line,
    )
    assert m
    assert close(parse(m.group(1)), meas["sm_efficiency_pct"])
    assert close(parse(m.group(2)), meas["achieved_bandwidth_bps"])
    assert close(parse(m.group(3)), meas["intensity"])
    assert close(parse(m.group(4)), meas["achieved_flops_per_s"])
    gap = doc["comparison"]["total"]["performance_gap"]
    line = next(x for x in md_en.splitlines() if x.startswith(" Difference:"))
    assert close(parse(line.split("performance gap ")[1]), gap * 100)


def test_operator_table_matches_json(md_en: str, doc: dict[str, Any]) -> None:
    rows = [r for r in md_en.splitlines() if r.startswith("| `") and "`prefill`" in r]
    ops = doc["comparison"]["operators"]
    assert len(rows) == len(ops)
    for row, op in zip(rows, ops, strict=True):
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", row)[1:-1]]
        assert cells[0] == f"`{op['name']}`"
        assert close(parse(cells[4]), op["predicted_time_s"])
        assert close(parse(cells[6]), op["measured_time_s"])
        assert close(parse(cells[11]), op["ratio"])


def test_no_long_floats(md_zh: str, md_en: str) -> None:
    for text in (md_zh, md_en):
        assert not re.search(r"\d\.\d{6,}", text)


def test_zh_and_en_carry_the_same_figures(md_zh: str, md_en: str) -> None:
    zh, en = figures(md_zh), figures(md_en)
    assert len(zh) > 300
    assert sorted(zh) == sorted(en)


def test_names_escaped(md_en: str) -> None:
    outside_code = re.sub(r"(`+).+?\1", "", md_en)
    assert "<script>" not in outside_code
    assert f"`{SCRIPT_NAME}`" in md_en and f"`{NVTX_SCRIPT_NAME}`" in md_en
    # Every table row has as many unescaped | as its header.
    for block in re.split(r"\n\n", md_en):
        rows = [r for r in block.splitlines() if r.startswith("|")]
        widths = {len(re.findall(r"(?<!\\)\|", r)) for r in rows}
        assert len(widths) <= 1, block[:200]
    assert md_cell(PIPE_NAME).count("\\|") == 1


def test_md_code_handles_backticks() -> None:
    assert md_code("a`b") == "``a`b``"
    assert md_code("`x") == "`` `x ``"


def test_without_matplotlib_the_markdown_says_so(doc: dict[str, Any]) -> None:
    text = MarkdownRenderer(with_charts=False).render(doc, "en")
    assert "matplotlib is not installed" in text and "roofline.png" not in text
    text = MarkdownRenderer(with_charts=True).render(doc, "en")
    assert "](roofline.png)" in text
