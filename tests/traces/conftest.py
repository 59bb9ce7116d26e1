"""Fixtures shared by the trace-reader tests."""

from __future__ import annotations

import os

import pytest

from rooflens.traces import kineto_scan


def native_or_skip() -> None:
    """Skip a test of the native Kineto scanner where it was not built; in CI it must be."""
    if kineto_scan._kineto_scan is None:
        if os.environ.get("CI") == "true":
            pytest.fail("CI=true but the native Kineto scanner was not built (is gcc installed?)")
        pytest.skip("native Kineto scanner not built (no C compiler at install time)")


@pytest.fixture(params=["native", "python"])
def kineto_backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run a test once with the native Kineto scanner and once with the pure-Python reader."""
    if request.param == "native":
        native_or_skip()
    monkeypatch.setenv("ROOFLENS_KINETO_SCANNER", request.param)
    return str(request.param)
