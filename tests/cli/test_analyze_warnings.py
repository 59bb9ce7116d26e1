"""Damage the readers find is shown loudly: `analyze` of an NCU CSV cut mid-row says so on
stderr (even with --json), and the report carries it in its header notes."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

FIX = Path(__file__).parents[1] / "fixtures" / "h200_llama3_8b_prefill" / "kernels.csv"


def rooflens(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "rooflens", *args], capture_output=True, text=True, timeout=120
    )


def _cut_mid_row(tmp_path: Path) -> tuple[Path, int]:
    """The fixture CSV cut in the middle of its last kernel row; how many whole rows remain."""
    text = FIX.read_text()
    cut = text[: text.rstrip("\n").rindex("\n") + 40]  # 40 characters into the last line
    path = tmp_path / "cut.csv"
    path.write_text(cut)
    rows = list(csv.reader(io.StringIO(cut)))
    whole = [r for r in rows[2:] if len(r) == len(rows[0])]  # header, units row, then kernels
    return path, len(whole)


def test_analyze_shows_a_cut_csv_loudly(tmp_path: Path) -> None:
    path, whole = _cut_mid_row(tmp_path)
    r = rooflens("analyze", str(path), "--json")
    assert r.returncode == 0, r.stderr
    warnings = [ln for ln in r.stderr.splitlines() if ln.startswith(f"rooflens: warning: {path}:")]
    assert len(warnings) == 1 and "row" in warnings[0], r.stderr
    doc = json.loads(r.stdout)
    assert doc["ncu_warnings"] and len(doc["kernels"]) == whole
    assert all(k["duration_s"] > 0 for k in doc["kernels"])  # no half row as a 0 s kernel
    r = rooflens("analyze", str(FIX), "--json")  # the whole file: no warning
    assert r.returncode == 0 and "warning" not in r.stderr, r.stderr


def test_report_notes_carry_the_damage(tmp_path: Path) -> None:
    path, _ = _cut_mid_row(tmp_path)
    r = rooflens("report", str(path), "--out", str(tmp_path / "o"), "--lang", "en")
    assert r.returncode == 0, r.stderr
    doc = json.loads((tmp_path / "o" / "report.json").read_text())
    analyzed = json.loads(rooflens("analyze", str(path), "--json").stdout)
    assert set(analyzed["ncu_warnings"]) <= set(doc["header"]["notes"])
