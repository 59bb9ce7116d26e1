"""`rooflens report`: no Python ``None`` in a report, no invented gap, one-line errors for bad
output paths, and ``--force`` that never writes through a link out of the output folder."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

FIX = Path(__file__).parents[1] / "fixtures" / "h200_llama3_8b_prefill"
FILES = (str(FIX / "timeline.sqlite"), str(FIX / "kernels.csv"))


def rooflens(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "rooflens", *args],
        capture_output=True,
        text=True,
        timeout=180,
        cwd=cwd,
    )


def one_line_error(r: subprocess.CompletedProcess[str]) -> str:
    """The single stderr line of a refused command (exit 2, no traceback)."""
    assert r.returncode == 2, (r.returncode, r.stdout, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("rooflens: "), r.stderr
    return lines[0]


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """report.json of the NCU CSV alone (no timeline: the timeline chart cannot be drawn)."""
    out = tmp_path_factory.mktemp("saved")
    r = rooflens("report", str(FIX / "kernels.csv"), "--out", str(out), "--lang", "en")
    assert r.returncode == 0, r.stderr
    return out / "report.json"


def test_without_model_no_none_and_no_gap(tmp_path: Path) -> None:
    r = rooflens("report", *FILES, "--out", str(tmp_path), "--lang", "en")
    assert r.returncode == 0, r.stderr
    md = (tmp_path / "report.md").read_text()
    assert "None" not in md
    # No prediction: there is nothing to compare, so no "performance gap -100%".
    assert "-100%" not in md and "−100%" not in md
    total = json.loads((tmp_path / "report.json").read_text())["comparison"]["total"]
    assert total["performance_gap"] is None and total["predicted_time_s"] is None


def test_model_without_workload_states_the_defaults(tmp_path: Path) -> None:
    r = rooflens(
        "report", *FILES, "--model", "llama-3-8b", "--layers", "1", "--out", str(tmp_path),
        "--lang", "en",
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    doc = json.loads((tmp_path / "report.json").read_text())
    h = doc["header"]
    assert (h["batch_size"], h["input_len"], h["output_len"]) == (1, 128, 1)
    assert any("assumes batch 1, input_len 128, output_len 1" in n for n in h["notes"])
    md = (tmp_path / "report.md").read_text()
    assert "None" not in md


def test_output_len_zero_is_refused_as_predict_refuses_it(tmp_path: Path) -> None:
    rep = one_line_error(
        rooflens("report", *FILES, "--model", "llama-3-8b", "--output-len", "0",
                 "--out", str(tmp_path / "o"))  # fmt: skip
    )
    pred = one_line_error(rooflens("predict", "--model", "llama-3-8b", "--output-len", "0"))
    assert rep == pred == "rooflens: --output-len must be an integer ≥ 1, got 0"
    assert not (tmp_path / "o").exists()


def test_from_json_with_inputs_is_a_usage_error(saved: Path, tmp_path: Path) -> None:
    line = one_line_error(
        rooflens("report", "--from-json", str(saved), str(FIX), "--out", str(tmp_path / "o"))
    )
    assert "--from-json" in line and str(FIX) in line
    assert not (tmp_path / "o").exists()


def test_from_json_links_only_charts_it_wrote(saved: Path, tmp_path: Path) -> None:
    r = rooflens("report", "--from-json", str(saved), "--out", str(tmp_path), "--lang", "en")
    assert r.returncode == 0, r.stderr
    md = (tmp_path / "report.md").read_text()
    linked = set(re.findall(r"\]\(([\w.-]+\.png)\)", md))
    pngs = {p.name for p in tmp_path.glob("*.png")}
    assert linked == pngs and "timeline.png" not in linked


def _out_error(saved: Path, out: Path) -> str:
    return one_line_error(rooflens("report", "--from-json", str(saved), "--out", str(out)))


def test_bad_output_paths_are_one_line(saved: Path, tmp_path: Path) -> None:
    a_file = tmp_path / "a_file"
    a_file.write_text("mine")
    assert "exists and is not a folder" in _out_error(saved, a_file)
    assert "is a file, not a folder" in _out_error(saved, a_file / "sub")
    assert "name too long" in _out_error(saved, tmp_path / ("x" * 300)).lower()
    assert a_file.read_text() == "mine"


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_unwritable_output_folder_is_one_line(saved: Path, tmp_path: Path) -> None:
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        assert "permission denied" in _out_error(saved, ro / "out").lower()
        assert "permission denied" in _out_error(saved, ro).lower()
    finally:
        ro.chmod(0o755)


def test_force_never_writes_through_a_link(saved: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside.md"
    outside.write_text("not yours")
    out = tmp_path / "out"
    out.mkdir()
    (out / "report.md").symlink_to(outside)
    # Without --force even a link (dangling or not) counts as taken.
    (out / "report.html").symlink_to(tmp_path / "nowhere.html")
    assert "--force" in _out_error(saved, out)
    r = rooflens("report", "--from-json", str(saved), "--out", str(out), "--force")
    assert r.returncode == 0, r.stderr
    assert outside.read_text() == "not yours" and not (tmp_path / "nowhere.html").exists()
    for name in ("report.md", "report.html"):
        assert not (out / name).is_symlink() and (out / name).stat().st_size > 0
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # no temp files left


def test_unwritable_folder_is_refused_even_for_root(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from rooflens.commands import outputs
    from rooflens.errors import InputError

    monkeypatch.setattr(outputs.os, "access", lambda *a, **k: False)
    with pytest.raises(InputError, match="permission denied"):
        outputs.prepare_out_dir(tmp_path / "o")
