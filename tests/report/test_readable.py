"""The report reads as one language and reads well: zh without English, CommonMark lines, kernel
numbers from 1, advice that fits what ran, no decode where none ran, no "seed"."""

from __future__ import annotations

import html as H
import json
import re
from pathlib import Path
from typing import Any

import pytest
from markdown_it import MarkdownIt

from rooflens.analysis.assemble import build_report
from rooflens.analysis.suggestions import SUGGESTIONS, suggestion_key
from rooflens.pipeline import analyse_inputs
from rooflens.report import RENDERERS
from rooflens.report.charts import chart_captions
from rooflens.report.pngcharts import LABELS
from rooflens.report.view import strings
from rooflens.report_model import as_document

from .langscan import WORD, english_words

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"
# prefill + CSV counters; NCU report with NCU's own rules; prefill + 3 decode steps; a foreign
# program (Hugging Face generate(), 2 layers, batch 4) captured without NVTX: inferred structure.
REAL = ["h200_llama3_8b_prefill", "h200_llama3_8b_gemm_ncu", "h200_llama3_8b_decode4",
        "h200_hf_llama/plain.sqlite"]  # fmt: skip
HF = {"model": "llama-3-8b", "layers": 2, "batch": 4, "input_len": 256, "output_len": 8}


@pytest.fixture(scope="module", params=REAL)
def real_doc(request: pytest.FixtureRequest) -> dict[str, Any]:
    path = FIXTURES / request.param
    if not (path / "manifest.json").is_file() and not path.is_file():
        pytest.skip(f"fixture {request.param} not present")
    overrides = HF if request.param.startswith("h200_hf_") else {}
    return build_report(**analyse_inputs([path], overrides, None, None)).to_dict()


def visible_html(page: str) -> str:
    """The page's text as a reader sees it, plus its tooltips and labels."""
    body = page.split("<body>")[1].split("<script>")[0]
    text = H.unescape(re.sub(r"<[^>]+>", " ", body))
    attrs = re.findall(r'(?:data-info|aria-label|title)="([^"]*)"', body)
    return text + " " + " ".join(H.unescape(a) for a in attrs)


def test_zh_report_has_no_english_beyond_names_metrics_units_and_ncu_text(
    real_doc: dict[str, Any],
) -> None:
    md = RENDERERS["md"].render(real_doc, "zh")
    page = RENDERERS["html"].render(real_doc, "zh")
    captions = " ".join(chart_captions(as_document(real_doc), strings("zh")).values())
    assert english_words(md, real_doc) == set()
    assert english_words(visible_html(page), real_doc) == set()
    assert english_words(captions, real_doc) == set()
    # What the issue saw, by name: the scope note, "kernel name", bound and match words.
    for english in (
        "the model is restricted",
        "**kernel name**",
        "受限类型 memory",
        "边界判断 match",
    ):
        assert english not in md
    for english in ("blue/orange", "predicted", ">compute<", "idle"):
        assert english not in page
    # NCU's rule text stays as NCU wrote it, but a threshold is never a sentence.
    assert not re.search(r"阈值 [A-Za-z]", md)


def test_en_report_is_english(real_doc: dict[str, Any]) -> None:
    md = RENDERERS["md"].render(real_doc, "en")
    assert not re.search(r"[\u4e00-\u9fff]", md)


def test_png_charts_carry_only_units() -> None:
    # The images are the same in both languages: their labels are units, the caption talks.
    words = {w for label in LABELS.values() for w in WORD.findall(label)}
    assert words <= {"FLOP", "B", "s", "us"}


def _key_value_items(md: str, title: str, next_title: str) -> list[str]:
    """The inline text of each list item between two headings, as markdown-it parses them."""
    section = md.split(title)[1].split(next_title)[0]
    tokens = MarkdownIt("commonmark").parse(section)
    items, depth = [], 0
    for i, tok in enumerate(tokens):
        if tok.type == "list_item_open":
            depth += 1
            if depth == 1:
                items.append(tokens[i + 2].content)  # list_item_open, paragraph_open, inline
        elif tok.type == "list_item_close":
            depth -= 1
    assert not [t for t in tokens if t.type == "paragraph_open" and t.level == 0 and t.map and
                "\n" in section.splitlines()[t.map[0]]]  # fmt: skip
    return items


def test_sections_one_and_two_render_as_one_line_per_figure(real_doc: dict[str, Any]) -> None:
    md = RENDERERS["md"].render(real_doc, "zh")
    sec1 = _key_value_items(md, "# 一、", "# 二、")
    sec2 = _key_value_items(md.split("## ")[0] if real_doc["timeline"] else md, "# 二、", "# 三、")
    # Each key/value is its own list item (CommonMark would join plain lines into one paragraph).
    starts = ["硬件:", "精度:", "峰值:", "Prefill 阶段:", "Decode", "总体估计:", "实测均值:",
              "利用率:", "差异:", "对比范围:"]  # fmt: skip
    if real_doc["kernels"] is None:  # no NCU: one "measured: no NCU data" item, no utilisation
        starts.remove("利用率:")
    assert [next(s for s in starts if item.startswith(s)) for item in sec1] == starts
    assert all("\n" not in item for item in sec1 + sec2)
    if real_doc["timeline"] is None:
        assert sec2 == ["无时间线数据(nsys / Kineto)"]
        return
    heads = [i.split(":")[0] for i in sec2]
    assert heads[:3] == ["时间线来源", "总kernels数量", "总kernel执行时间"] and len(sec2) == 6


def test_kernel_numbers_count_from_one_everywhere(doc: dict[str, Any], html_en: str) -> None:
    infos = [H.unescape(x) for x in re.findall(r'data-info="([^"]*)"', html_en)]
    numbers = [int(n) for info in infos for n in re.findall(r"#(\d+)", info)]
    assert min(numbers) == 1 and 0 not in numbers
    n = len(doc["timeline"]["kernels"])
    assert max(numbers) == n
    # The first bar is the first kernel: #1 (report.json index 0).
    first = doc["timeline"]["kernels"][0]
    assert any(i.startswith(f"#1 {first['short_name']}:") for i in infos)


def test_prefill_only_run_says_there_is_no_decode(md_zh: str, md_en: str) -> None:
    # synthetic: output_len 1 → 0 decode steps.
    assert "本次运行没有 decode 阶段" in md_zh and "this run has no decode phase" in md_en
    for md in (md_zh, md_en):
        assert "0 decode steps" not in md and "0 步 decode" not in md
        assert not re.search(r"total memory 0 B|总内存 0 B", md)


def test_decode_run_keeps_the_decode_line() -> None:
    run_dir = FIXTURES / "h200_llama3_8b_decode4"
    if not (run_dir / "manifest.json").is_file():
        pytest.skip("fixture not present")
    doc = build_report(**analyse_inputs([run_dir], {}, None, None)).to_dict()
    md = RENDERERS["md"].render(doc, "en")
    # output 4 → 3 decode steps, as the prediction counts them.
    assert "(@4 output tokens, 3 decode steps)" in md and "no decode phase" not in md


def test_norm_advice_fits_what_ran(doc: dict[str, Any]) -> None:
    # Synthetic: HF eager RMSNorm, 7 kernels per norm → the fusion of separate kernels.
    assert suggestion_key("far_from_roof", "rooflens", "norm", 7.0, ("pow_kernel",)) == "fuse:norm"
    # One kernel per instance → no talk of separate add/pow/mean/rsqrt kernels.
    one = suggestion_key("far_from_roof", "rooflens", "norm", 1.0, ("vectorized_layer_norm",))
    assert one == "fuse:norm:one"
    fused = suggestion_key("far_from_roof", "rooflens", "norm", 1.0, ("fused_add_rms_norm_kernel",))
    assert fused == "fuse:norm:done"
    for key in ("fuse:norm:one", "fuse:norm:done"):
        assert "rsqrt" not in strings("zh")["suggestions"][key] and "rsqrt" not in SUGGESTIONS[key]
    norms = [f for f in doc["comparison"]["findings"] if f.get("kernel_class") == "norm"]
    assert norms and all(f["suggestion_key"] == "fuse:norm" for f in norms)


def test_prefill_fixture_norm_ran_as_one_kernel() -> None:
    run_dir = FIXTURES / "h200_llama3_8b_prefill"
    if not (run_dir / "manifest.json").is_file():
        pytest.skip("fixture not present")
    doc = build_report(**analyse_inputs([run_dir], {}, None, None)).to_dict()
    # attn_norm, mlp_norm, final_norm: one vectorized_layer_norm_kernel each (kernels 2, 19, 26).
    norms = [
        f
        for f in doc["comparison"]["findings"]
        if f["subject"] in ("attn_norm", "mlp_norm", "final_norm")
    ]
    assert len(norms) == 3
    for f in norms:
        assert f["suggestion_key"] == "fuse:norm:one"
        assert "rsqrt" not in f["suggestion"]
    md = RENDERERS["md"].render(doc, "zh")
    assert "分开的 add、pow、mean、rsqrt" not in md


def test_user_facing_text_never_says_seed() -> None:
    texts = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")),
             ROOT / "examples" / "README.md",
             ROOT / "src" / "rooflens" / "report" / "templates" / "strings.toml",
             *sorted((ROOT / "src" / "rooflens" / "commands").glob("*.py"))]  # fmt: skip
    for path in texts:
        text = path.read_text(encoding="utf-8")
        if path.suffix == ".py":  # help texts and messages, not comments or docstrings
            text = " ".join(re.findall(r"help=\"[^\"]*\"|help=\'[^\']*\'", text))
        elif path.suffix == ".toml":
            text = "\n".join(x for x in text.splitlines() if not x.startswith("#"))
        # the predecessor's nickname, not a random seed ("seed 23")
        assert not re.search(r"\b(the seed|seed's|seed[- ]format|seed report)\b", text, re.I), path
    ignored = (ROOT / ".gitignore").read_text(encoding="utf-8").split()
    assert "example-report/" in ignored


def test_a_note_without_translation_is_marked_in_zh(doc: dict[str, Any]) -> None:
    odd = {**doc, "header": {**doc["header"], "notes": ["3 rows dropped: end before start"]}}
    assert "- 说明: (工具原文,英文)3 rows dropped: end before start" in RENDERERS["md"].render(
        odd, "zh"
    )
    assert "- Notes: 3 rows dropped: end before start" in RENDERERS["md"].render(odd, "en")


@pytest.mark.parametrize("name", ["h100_llama3_8b_prefill", "h200_llama3_8b_prefill"])
def test_bundled_zh_examples_have_no_english(name: str) -> None:
    folder = ROOT / "examples" / name / "report"
    doc = json.loads((folder / "report.json").read_text(encoding="utf-8"))
    assert english_words((folder / "report.md").read_text(encoding="utf-8"), doc) == set()
    page = (folder / "report.html").read_text(encoding="utf-8")
    assert english_words(visible_html(page), doc) == set()
