"""The Markdown report: sections, every kernel, figures equal to report.json, escaping, zh = en."""

from __future__ import annotations

import re
from typing import Any

from rooflens.report.markdown import MarkdownRenderer, md_cell, md_code

from .figures import close, figures, parse
from .mdtables import expand_numbers, table_after
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
        "- Prefill 阶段: 强度 ",
        "- Decode: 本次运行没有 decode 阶段",  # output_len 1: no decode step
        "- 总体估计: 强度 ",
        "- 实测均值: SM效率 ",
        "- 利用率: 计算 ",
        "- 差异: 性能差 ",
        "- 总kernels数量: 32",
        "- 总kernel执行时间: ",
    ):
        assert prefix in md_zh, prefix
    assert re.search(r"`Layer\[0\]#Run\[2\]` 范围持续时间: \S+ \S+, 空泡率 \S+%", md_zh)


def _hand_groups() -> dict[tuple[str, str], list[int]]:
    """Kernel numbers (1-based) per (full name, operator) of the synthetic prefill, by hand."""
    groups: dict[tuple[str, str], list[int]] = {}
    for i, (name, op, *_rest) in enumerate(kernel_specs()):
        groups.setdefault((name, op), []).append(i + 1)
    return groups


def test_every_kernel_listed_in_sections_2_and_3(md_en: str) -> None:
    rows = table_after(md_en, "## Kernels of the chosen run")
    keys = dict(re.findall(r"^- (N\d+): (.+)$", md_en, re.M))
    listed = {
        (keys[r[2]], r[3].strip("`")): expand_numbers(r[0]) for r in rows
    }  # (full name as code span, operator) → numbers
    hand = {(md_code(name), op): nums for (name, op), nums in _hand_groups().items()}
    assert listed == hand
    assert sum(int(r[5]) for r in rows) == len(kernel_specs()) == 32
    # Section 三: one block per signature; every kernel's number in exactly one block.
    sec3 = md_en.split("# 3. NCU")[1].split("# 4. Operator")[0]
    heads = re.findall(r"^\d+\. \*\*#(\d+)\*\* ", sec3, re.M)
    # 31 signatures (every synthetic kernel has the same grid and block), more than the 24 a
    # one-layer run shows whole: the 16 with the most time get a block, a line names the other 15.
    assert len(re.findall(r"^   - Full name: ", sec3, re.M)) == len(heads) == 16
    assert "15 more signature(s) (31 in all," in sec3
    dur = {i + 1: s[2] for i, s in enumerate(kernel_specs())}
    ranked = sorted(hand.values(), key=lambda nums: -sum(dur[n] for n in nums))
    covered = [int(h) for h in heads]
    for line in re.findall(r"numbers (.+?)\); the figures below are those of #(\d+)", sec3):
        covered += [n for n in expand_numbers(line[0]) if n != int(line[1])]
    assert sorted(covered) == sorted(n for nums in ranked[:16] for n in nums)


def test_kernel_durations_match_json(md_zh: str, doc: dict[str, Any]) -> None:
    rows = table_after(md_zh, "## 所选运行的 kernels")
    by_number = {k["index"] + 1: k["duration_s"] for k in doc["timeline"]["kernels"]}
    assert sum(int(r[5]) for r in rows) == len(by_number) == 32
    for r in rows:
        nums = expand_numbers(r[0])
        total = sum(by_number[n] for n in nums)
        assert close(parse(r[6]), total) and close(parse(r[7]), total / len(nums))


def test_section_one_figures_match_json(md_en: str, doc: dict[str, Any]) -> None:
    pre = doc["prediction"]["phases"]["prefill"]
    line = next(x for x in md_en.splitlines() if x.startswith("- Prefill phase:"))
    m = re.search(
        r"intensity (.+?), bound (\w+), performance (.+?), predicted time (.+?), memory traffic (.+)$",
        line,
    )
    assert m
    assert close(parse(m.group(1)), pre["intensity"]) and m.group(2) == pre["bound"]
    assert close(parse(m.group(3)), pre["performance_flops"])
    assert close(parse(m.group(4)), pre["time_s"]) and close(parse(m.group(5)), pre["bytes"])
    meas = doc["measured"]
    line = next(x for x in md_en.splitlines() if x.startswith("- Measured:"))
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
    line = next(x for x in md_en.splitlines() if x.startswith("- Difference:"))
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
