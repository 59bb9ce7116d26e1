"""Flag mistakes are bad input too: one line on stderr, exit code 2, the command's --help named."""

from __future__ import annotations

import subprocess
import sys

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
