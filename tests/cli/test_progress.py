"""Progress spinners: shown on a terminal, silent when stderr is captured or piped."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from rooflens.commands import progress


def test_silent_when_stderr_is_not_a_terminal(capsys: pytest.CaptureFixture[str]) -> None:
    with progress.reading(Path(__file__)):
        pass
    assert capsys.readouterr().err == ""


def test_names_the_step_on_a_terminal(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
    monkeypatch.setenv("TERM", "xterm")
    monkeypatch.delenv("NO_COLOR", raising=False)
    with progress.reading(Path(__file__)):
        pass
    err = capsys.readouterr().err
    assert "reading test_progress.py (" in err and "B)…" in err  # name and size
