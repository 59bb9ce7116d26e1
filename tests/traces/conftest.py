"""Fixtures shared by the trace-reader tests."""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import pytest

from rooflens.traces import kineto_scan, nsys_sqlite
from rooflens.traces.model import Trace


def native_or_skip() -> None:
    """Skip a test of the C extension where it was not built; in CI it must be."""
    if kineto_scan._native is None or nsys_sqlite._NATIVE is None:
        if os.environ.get("CI") == "true":
            pytest.fail("CI=true but the native Kineto scanner was not built (is gcc installed?)")
        pytest.skip("rooflens.traces._fastread not built (no C compiler at install time)")


@pytest.fixture(params=["native", "python"])
def reader_backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run a test once with the C extension's readers and once with the pure-Python ones."""
    if request.param == "native":
        native_or_skip()
    monkeypatch.setenv("ROOFLENS_NATIVE", "1" if request.param == "native" else "0")
    return str(request.param)


def _canon(t: Trace) -> dict[str, Any]:
    """The trace as plain values: names as text (string ids may be interned in another order)."""
    out: dict[str, Any] = {"t0": t.time_origin_s, "gpus": [vars(g) for g in t.gpus]}
    for table in ("kernels", "launches", "ranges", "copies"):
        for col, val in vars(getattr(t, table)).items():
            if isinstance(val, np.ndarray):
                if col in ("name_id", "short_id"):
                    val = [t.strings[i] for i in val.tolist()]
                out[f"{table}.{col}"] = np.asarray(val).tolist()
    return out


def assert_same_trace(a: Trace, b: Trace) -> None:
    """Two readers' traces hold the same values (names compared as text)."""
    ca, cb = _canon(a), _canon(b)
    assert ca.keys() == cb.keys()
    for key in ca:
        assert ca[key] == cb[key], key
