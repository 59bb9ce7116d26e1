"""The bundled example (examples/h200_llama3_8b_prefill) is current: regenerating it changes nothing.

Its report.json is the golden output for its real H200 capture; its Markdown and HTML, in both
languages, are exactly what the renderers make of that document today.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rooflens.commands.report import analyse_inputs
from rooflens.report import RENDERERS
from rooflens.report.assemble import build_report
from rooflens.report.markdown import MarkdownRenderer, charts_available

EXAMPLE = Path(__file__).parents[2] / "examples" / "h200_llama3_8b_prefill"
REGEN = "rooflens report examples/h200_llama3_8b_prefill --force (and --lang en --out …/report-en)"


@pytest.fixture(scope="module")
def committed() -> dict:
    return json.loads((EXAMPLE / "report" / "report.json").read_text(encoding="utf-8"))


def test_report_json_is_reproduced_from_the_capture(
    committed: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(EXAMPLE.parents[1])  # the report records input paths as given: repo-relative
    rel = EXAMPLE.relative_to(EXAMPLE.parents[1])
    fresh = build_report(
        **analyse_inputs([rel], {}, None, None), generated_at=committed["generated_at"]
    )
    assert json.loads(json.dumps(fresh)) == committed, f"examples are stale: {REGEN}"


@pytest.mark.parametrize("lang, folder", [("zh", "report"), ("en", "report-en")])
def test_rendered_files_are_current(committed: dict, lang: str, folder: str) -> None:
    doc = json.loads((EXAMPLE / folder / "report.json").read_text(encoding="utf-8"))
    md = MarkdownRenderer(with_charts=charts_available()).render(doc, lang)
    assert (EXAMPLE / folder / "report.md").read_text(encoding="utf-8") == md, f"stale: {REGEN}"
    assert (EXAMPLE / folder / "report.html").read_text(encoding="utf-8") == RENDERERS[
        "html"
    ].render(doc, lang)


def test_every_kernel_of_the_run_is_in_both_reports(committed: dict) -> None:
    kernels = committed["timeline"]["kernels"]
    assert (
        len(kernels) == 28 == len(committed["kernels"])
    )  # Run[2] of the capture; ncu saw the same 28
    for folder in ("report", "report-en"):
        md = (EXAMPLE / folder / "report.md").read_text(encoding="utf-8")
        for k in kernels:
            assert k["short_name"] in md
