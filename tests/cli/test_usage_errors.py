"""Flag mistakes are bad input too: one line on stderr, exit code 2, the command's --help named."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest


def _rooflens(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "rooflens", *args], capture_output=True, text=True, timeout=60
    )


@pytest.mark.parametrize(
    "args, words",
    [
        (["predict"], "Missing option '--model'"),
        (["predict", "-m", "llama-3-8b", "--bogus"], "No such option: --bogus"),
        (["report", "--lang"], "requires an argument"),
        (["nosuchverb"], "No such command"),
    ],
)
def test_usage_errors_are_one_line(args: list[str], words: str) -> None:
    r = _rooflens(*args)
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("rooflens: ") and words in lines[0], r.stderr
    assert "--help" in lines[0]


def test_help_and_version_still_work() -> None:
    assert _rooflens("--version").stdout.strip().startswith("rooflens ")
    r = _rooflens("predict", "--help")
    assert r.returncode == 0 and "--model" in r.stdout


@pytest.mark.parametrize(
    "verb", [["report"], ["analyze"], ["redact"], ["report", "--from-json"], ["predict", "--model"]]
)
def test_a_path_too_long_is_one_line(verb: list[str], tmp_path: Path) -> None:
    long = str(tmp_path / ("a" * 300) / "x.sqlite")
    r = _rooflens(*verb, long)
    assert r.returncode == 2, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("rooflens: ") and "too long" in lines[0].lower()
