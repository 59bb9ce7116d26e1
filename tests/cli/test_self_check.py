"""A report whose figures break their invariants is never written: an internal error (exit 3,
one line, ROOFLENS_DEBUG=1 for the traceback) when rooflens built it, bad input (exit 2) when it
is a saved report.json given to ``--from-json``."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from rooflens import cli, pipeline

FIX = Path(__file__).parents[1] / "fixtures" / "h200_llama3_8b_prefill"


def _tamper(inputs: dict[str, Any]) -> dict[str, Any]:
    """A timeline kernel taking 150 % of its run's kernel time: impossible."""
    kernels = inputs["timeline"]["kernels"]
    kernels[0] = {**kernels[0], "share": 1.5}
    return inputs


def test_broken_invariant_is_an_internal_error_and_nothing_is_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    real = pipeline.analyse_inputs
    monkeypatch.setattr(pipeline, "analyse_inputs", lambda *a: _tamper(real(*a)))
    monkeypatch.delenv("ROOFLENS_DEBUG", raising=False)
    out = tmp_path / "out"
    with pytest.raises(SystemExit) as exc:
        cli.main(["report", str(FIX / "timeline.sqlite"), "--out", str(out)])
    assert exc.value.code == 3
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("rooflens: internal error: report self-check")
    assert "share 1.5 outside [0, 1]" in err[0] and "ROOFLENS_DEBUG=1" in err[0]
    assert not out.exists()


def _rerender(saved: Path, out: Path) -> subprocess.CompletedProcess[str]:
    """``rooflens report --from-json saved --out out`` in a child process."""
    argv = [
        sys.executable,
        "-m",
        "rooflens",
        "report",
        "--from-json",
        str(saved),
        "--out",
        str(out),
    ]
    return subprocess.run(argv, capture_output=True, text=True, timeout=120)


def test_saved_report_breaking_invariants_is_bad_input(tmp_path: Path) -> None:
    good = tmp_path / "good"
    r = subprocess.run(
        [sys.executable, "-m", "rooflens", "report", str(FIX / "kernels.csv"), "--out", str(good)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    doc = json.loads((good / "report.json").read_text())
    doc["measured"]["memory_utilization"] = -0.25
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(doc))
    r = _rerender(bad, tmp_path / "o")
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert "breaks the report's invariants" in r.stderr and "memory_utilization" in r.stderr
    assert not (tmp_path / "o").exists()


def test_saved_report_of_the_wrong_shape_is_bad_input(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"schema_version": "1.2", "header": 5}))
    r = _rerender(bad, tmp_path / "o")
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert "not a well-formed report.json" in r.stderr and not (tmp_path / "o").exists()
