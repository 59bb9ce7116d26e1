"""`rooflens report`: run folder / files → report.md, .html, .json; --force; --from-json; errors."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from rooflens.cli import main
from rooflens.settings import manifest_settings

from .mdtables import table_after

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
PREFILL = FIXTURES / "h200_llama3_8b_prefill"


def _run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    try:
        main(args)
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


needs_fixture = pytest.mark.skipif(
    not (PREFILL / "timeline.sqlite").is_file(), reason="fixture not present"
)


@needs_fixture
def test_files_mode_writes_three_outputs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["report", str(PREFILL / "timeline.sqlite"), "--model", "llama-3-8b", "--layers", "1",
            "--input-len", "128", "--output-len", "1", "--lang", "en", "--out", str(tmp_path)]  # fmt: skip
    code, out, err = _run(args, capsys)
    assert code == 0, err
    for name in ("report.md", "report.html", "report.json"):
        assert (tmp_path / name).is_file()
    doc = json.loads((tmp_path / "report.json").read_text())
    tl = doc["timeline"]
    md = (tmp_path / "report.md").read_text()
    # Every kernel of the chosen run is listed, and the operator table covers the exact NVTX join.
    rows = table_after(md, "## Kernels of the chosen run")
    assert sum(int(r[5]) for r in rows) == len(tl["kernels"]) > 0
    ops = {o["name"] for o in doc["comparison"]["operators"] if o["measured_time_s"] is not None}
    assert {"qkv_proj", "attention", "o_proj", "gate_up_proj", "down_proj"} <= ops
    # Existing report: refused without --force, one line, exit 2.
    code, _, err = _run(args, capsys)
    assert code == 2 and err.startswith("rooflens: ") and "--force" in err and err.count("\n") == 1
    code, _, err = _run([*args, "--force"], capsys)
    assert code == 0, err


@needs_fixture
def test_run_dir_uses_the_manifest(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run_dir = tmp_path / "run"
    shutil.copytree(PREFILL, run_dir)
    code, out, err = _run(["report", str(run_dir), "--lang", "zh"], capsys)
    assert code == 0, err
    doc = json.loads((run_dir / "report" / "report.json").read_text())
    settings = manifest_settings(json.loads((PREFILL / "manifest.json").read_text()))
    assert doc["header"]["model"] == settings["model"] == "llama-3-8b"
    assert doc["header"]["layers"] == settings["layers"] == 1
    assert doc["gpu"]["detected_name"] == "NVIDIA H200"
    assert doc["prediction"] is not None and doc["timeline"] is not None


def test_from_json_rerenders(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from rooflens.analysis.assemble import build_report
    from rooflens.report.document import save_report

    from .synthetic import synthetic_parts

    save_report(build_report(**synthetic_parts()), tmp_path / "report.json")
    code, _, err = _run(
        [
            "report",
            "--from-json",
            str(tmp_path / "report.json"),
            "--lang",
            "en",
            "--out",
            str(tmp_path / "o"),
        ],
        capsys,
    )
    assert code == 0, err
    assert "# 4. Operator view" in (tmp_path / "o" / "report.md").read_text()
    # In place (next to report.json) only with --force: report.json itself would be rewritten.
    code, _, err = _run(["report", "--from-json", str(tmp_path / "report.json")], capsys)
    assert code == 2 and "--force" in err
    code, _, err = _run(["report", "--from-json", str(tmp_path / "report.json"), "--force"], capsys)
    assert code == 0 and (tmp_path / "report.html").is_file()


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["report", "/nonexistent/x.sqlite"], "no such file"),
        (["report"], "give a run folder"),
        (["report", "--from-json", "/nonexistent.json"], "no such file"),
        (["report", ".", "--lang", "fr"], "--lang"),
    ],
)
def test_bad_input_is_one_line(
    args: list[str], fragment: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = _run(args, capsys)
    assert code == 2 and err.startswith("rooflens: ") and fragment in err and err.count("\n") == 1


def test_every_report_file_comes_from_the_registry(tmp_path: Path, doc: dict) -> None:
    """write_report writes report + each registered renderer's extension, the Markdown linking
    exactly the chart files written beside it (the registry is the only path to a file)."""
    from rooflens.commands.report import write_report
    from rooflens.report import RENDERERS
    from rooflens.report.markdown import charts_available
    from rooflens.report_model import as_document

    typed = as_document(doc)
    written = {p.name for p in write_report(typed, tmp_path, "en", force=False)}
    charts = {n for n in written if n.endswith(".png")}
    assert written - charts == {"report.md", "report.html", "report.json"}
    assert bool(charts) == charts_available()
    for key in ("md", "html", "json"):
        r = RENDERERS[key]
        on_disk = (tmp_path / f"report{r.output_file_extension}").read_text(encoding="utf-8")
        assert on_disk == r.render(typed, "en", charts=charts)
    md = (tmp_path / "report.md").read_text(encoding="utf-8")
    assert {n for n in charts if f"]({n})" in md} == charts
