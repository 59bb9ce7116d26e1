"""Section 四's finding groups and section 三's per-name table as rendered: the top groups, the
"more in report.json" line, figures that match report.json, zh/en wording, schema 1.0 files."""

from __future__ import annotations

import copy
import re
import tomllib
from importlib import resources
from pathlib import Path
from typing import Any

import orjson

import rooflens
from rooflens.analysis.findings import SUGGESTIONS
from rooflens.report import RENDERERS
from rooflens.report.document import load_report, problems
from rooflens.report.view import FINDINGS_SHOWN

from .figures import close, parse


def _strings() -> dict[str, Any]:
    text = resources.files("rooflens.report").joinpath("templates/strings.toml").read_text("utf-8")
    return tomllib.loads(text)


def test_every_suggestion_and_group_rule_has_zh_text() -> None:
    s = _strings()
    assert set(SUGGESTIONS) <= set(s["zh"]["suggestions"])
    assert set(s["zh"]["groups"]) == set(s["en"]["groups"])


def test_findings_table_shows_the_top_groups_and_says_how_many_more(doc: dict[str, Any]) -> None:
    many = copy.deepcopy(doc)
    base = many["comparison"]["findings"][-1]
    extra = [dict(base, subject=f"extra{i}", time_at_stake_s=0.0) for i in range(FINDINGS_SHOWN)]
    many["comparison"]["findings"] += extra
    total = len(many["comparison"]["findings"])
    for lang, line in (("en", f"{total - FINDINGS_SHOWN} more group(s) ({total} in all)"),
                       ("zh", f"另有 {total - FINDINGS_SHOWN} 组(共 {total} 组)")):  # fmt: skip
        md = RENDERERS["md"].render(many, lang)
        section = md.split("## " + _strings()[lang]["findings_title"])[1].split("## ")[0]
        assert len(re.findall(r"^\| \d+ \|", section, re.M)) == FINDINGS_SHOWN
        assert line in section
    html = RENDERERS["html"].render(many, "en")
    table = html.split('<table class="findings">')[1].split("</table>")[0]
    assert table.count("<tr>") == FINDINGS_SHOWN + 1  # header + rows
    assert f"{total - FINDINGS_SHOWN} more group(s)" in html


def test_group_rows_match_report_json(doc: dict[str, Any], md_en: str) -> None:
    section = md_en.split("## Where the time goes")[1]
    rows = re.findall(r"^\| (\d+) \| `([^`]+)` \| \w+ \| ([^|]+) \| ([^|]*) \|", section, re.M)
    groups = doc["comparison"]["findings"]
    assert len(rows) == min(len(groups), FINDINGS_SHOWN)
    for (_rank, rule, stake, kernels), g in zip(rows, groups, strict=False):
        assert rule == g["rule"] and close(parse(stake), g["time_at_stake_s"])
        if g.get("count"):
            assert kernels.split()[0] == str(g["count"])
    rope = next(g for g in groups if g["rule"] == "fragmented_operator" and g["subject"] == "rope")
    # Kernels 8–12 (0-based) are listed as 9–13, the numbers of the section 二 list.
    assert "5 (#9–13)" in section and rope["kernel_indices"] == [8, 9, 10, 11, 12]


def test_fragmented_message_in_both_languages(md_zh: str, md_en: str) -> None:
    assert "rope: served by 5 kernels taking 9.70 us" in md_en
    assert "rope: 由 5 个 kernel 完成,实测 9.70 us" in md_zh


def _kg_rows(md: str, title: str) -> list[list[str]]:
    table = md.split("## " + title)[1].split("\n# ")[0]
    lines = [x for x in table.splitlines() if x.startswith("| `")]
    return [[c.strip() for c in re.split(r"(?<!\\)\|", x)[1:-1]] for x in lines]


def test_kernel_name_table_matches_report_json(doc: dict[str, Any], md_en: str, md_zh: str) -> None:
    rows = doc["kernel_groups"]["rows"]
    for md, title in ((md_en, "Summary per kernel name"), (md_zh, "按 kernel 名称汇总")):
        shown = _kg_rows(md, title)
        assert len(shown) == len(rows)
        for cells, r in zip(shown, rows, strict=True):
            assert cells[1] == str(r["count"])
            assert close(parse(cells[5]), r["sm_efficiency_avg_pct"])
            assert cells[8] == f"{r['sm_efficiency_low_count']} / {r['sm_efficiency_count']}"
            assert close(parse(cells[9]), r["bandwidth_avg_bps"])
            assert close(parse(cells[12]), r["l2_hit_avg_pct"])
            assert cells[13] == f"{r['l2_hit_low_count']} / {r['l2_hit_count']}"
            assert cells[15] == f"{r['l1_hit_low_count']} / {r['l1_hit_count']}"
    assert "低于 50.0% 数量" in md_zh and "SM efficiency under 50.0%" in md_en


def test_kernel_name_table_in_html(doc: dict[str, Any], html_en: str) -> None:
    table = html_en.split('<table class="kernel-groups">')[1].split("</table>")[0]
    assert table.count("<tr>") == len(doc["kernel_groups"]["rows"]) + 1


def test_schema_1_0_file_gains_the_per_name_summary(doc: dict[str, Any], tmp_path: Path) -> None:
    old = {k: v for k, v in doc.items() if k != "kernel_groups"}
    old["schema_version"] = "1.0"
    path = tmp_path / "old.json"
    path.write_bytes(orjson.dumps(old))
    assert load_report(path).kernel_groups is None  # the document layer only fills defaults
    loaded = rooflens.load_report(path).doc  # the API upgrades it (analysis.assemble.upgrade)
    assert loaded["kernel_groups"] == doc["kernel_groups"]
    assert "Summary per kernel name" in RENDERERS["md"].render(loaded, "en")


def test_self_check_rejects_a_stake_beyond_the_kernels_time(doc: dict[str, Any]) -> None:
    bad = copy.deepcopy(doc)
    g = next(f for f in bad["comparison"]["findings"] if f.get("kernel_indices"))
    g["time_at_stake_s"] = 1.0
    assert any("exceeds its kernels' time" in p for p in problems(bad))
    assert problems(doc) == []
