"""The bundled examples (examples/h100_…, examples/h200_…) are current: regenerating changes nothing.

Each report.json is the golden output for its real capture; its Markdown and HTML, in both
languages, are exactly what the renderers make of that document today.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rooflens.analysis.assemble import build_report
from rooflens.pipeline import analyse_inputs
from rooflens.report import RENDERERS
from rooflens.report.markdown import MarkdownRenderer, charts_available

ROOT = Path(__file__).parents[2]
NAMES = ("h100_llama3_8b_prefill", "h200_llama3_8b_prefill")
REGEN = "stale example: regenerate it as examples/README.md says"


@pytest.fixture(params=NAMES)
def example(request: pytest.FixtureRequest) -> tuple[Path, dict]:
    folder = ROOT / "examples" / request.param
    return folder, json.loads((folder / "report" / "report.json").read_text(encoding="utf-8"))


def test_report_json_is_reproduced_from_the_capture(
    example: tuple[Path, dict], monkeypatch: pytest.MonkeyPatch
) -> None:
    folder, committed = example
    monkeypatch.chdir(
        ROOT
    )  # the report records input paths as given: repo-relative, as in the README
    inputs = analyse_inputs([folder.relative_to(ROOT)], {}, None, None)
    fresh = build_report(**inputs, generated_at=committed["generated_at"])
    # Byte for byte: the one JSON writer (ReportDocument.to_json) gives the committed file.
    assert fresh.to_json() == (folder / "report" / "report.json").read_bytes(), REGEN


@pytest.mark.parametrize("lang, sub", [("zh", "report"), ("en", "report-en")])
def test_rendered_files_are_current(example: tuple[Path, dict], lang: str, sub: str) -> None:
    folder, _ = example
    doc = json.loads((folder / sub / "report.json").read_text(encoding="utf-8"))
    md = MarkdownRenderer(with_charts=charts_available()).render(doc, lang)
    assert (folder / sub / "report.md").read_text(encoding="utf-8") == md, REGEN
    html = RENDERERS["html"].render(doc, lang)
    assert (folder / sub / "report.html").read_text(encoding="utf-8") == html, REGEN


def test_every_kernel_of_the_run_is_in_both_reports(example: tuple[Path, dict]) -> None:
    folder, committed = example
    kernels = committed["timeline"]["kernels"]
    # Run[2] of the built-in workload launches 28 kernels; ncu profiled the same 28.
    assert len(kernels) == 28 == len(committed["kernels"])
    assert committed["gpu"]["detected_name"].startswith(("NVIDIA H100", "NVIDIA H200"))
    for sub in ("report", "report-en"):
        md = (folder / sub / "report.md").read_text(encoding="utf-8")
        for k in kernels:
            assert k["short_name"] in md
