"""Console tables fit 80 columns (a terminal's default, and what a pipe gets) and cut no number."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from rooflens.cli import main
from rooflens.hardware import DTYPES, all_gpus
from rooflens.units import fmt_duration, sig3

PREFILL = Path(__file__).resolve().parents[1] / "fixtures" / "h200_llama3_8b_prefill"


def _run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    try:
        main(args)
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    return code, capsys.readouterr().out


def test_hardware_table_fits_80_columns_and_keeps_every_number(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    code, out = _run(["hardware"], capsys)
    assert code == 0
    lines = out.splitlines()
    assert max(len(line) for line in lines) <= 80
    assert "…" not in out
    for g in all_gpus():
        (row,) = [line for line in lines if line.startswith(g.key + " ")]
        cells = row.split()
        expected = [sig3(g.peak_flops[d] / 1e12) if d in g.peak_flops else "-"
                    for d in DTYPES if d != "bf16"]  # fmt: skip
        expected += [sig3(g.bandwidth_bps / 1e12), sig3(g.memory_bytes / 1e9),
                     sig3(g.l2_bytes / 2**20), str(g.sm_count), sig3(g.interconnect_bps / 1e9)]  # fmt: skip
        assert cells[1:] == expected, g.key


@pytest.mark.skipif(not (PREFILL / "timeline.sqlite").is_file(), reason="fixture not present")
def test_analyze_tables_fit_80_columns_and_number_kernels_from_one(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    files = [str(PREFILL / "timeline.sqlite"), str(PREFILL / "kernels.csv")]
    code, out = _run(["analyze", *files, "--json"], capsys)
    assert code == 0
    doc = json.loads(out)
    monkeypatch.setenv("COLUMNS", "80")
    code, out = _run(["analyze", *files], capsys)
    assert code == 0
    lines = out.splitlines()
    assert max(len(line) for line in lines) <= 80
    kernels = doc["timeline"]["kernels"]
    table = out.split("Kernels of")[1].split("NCU per kernel")[0]
    rows = re.findall(r"^\s*(\d+)  \S+\s+(\d\S* \w+)\s+(\S+%)", table, re.M)
    # One row per kernel, numbered from 1 (report.json index 0 is #1), durations whole.
    assert [int(r[0]) for r in rows] == [k["index"] + 1 for k in kernels] == list(range(1, 29))
    assert [r[1] for r in rows] == [fmt_duration(k["duration_s"]) for k in kernels]
    for name in ("roofline figures", "counters (%) and findings"):
        part = out.split(f"NCU per kernel: {name}")[1]
        assert re.search(r"^ 1  ", part, re.M) and not re.search(r"^ 0  ", part, re.M)
