"""Property-based tests of every reader (Hypothesis): a valid result or a RooflensError, never
another exception, on mutated real captures and on corrupt values in well-formed files.

Seeded and bounded for CI (``derandomize=True``, a few dozen examples each, no deadline); longer
campaigns: ``python scripts/fuzz_readers.py --help``.
"""

from __future__ import annotations

import functools
import json
import os
import sqlite3
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rooflens.errors import RooflensError
from rooflens.traces.kineto_json import read_kineto_json
from rooflens.traces.nsys_sqlite import read_nsys_sqlite

from . import mutate
from .conftest import assert_same_trace, native_or_skip
from .synth import K, R, Synth, write_nsys

#: Examples per test; ROOFLENS_FUZZ_EXAMPLES raises it for a local hunt (CI keeps the default).
EXAMPLES = int(os.environ.get("ROOFLENS_FUZZ_EXAMPLES", "40"))
FAST = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

MUTATIONS = st.lists(
    st.tuples(
        st.sampled_from(mutate.OPS),
        st.floats(0.0, 1.0, exclude_max=True),
        st.sampled_from([1, 3, 17, 100, 4096, 65536]),
        st.sampled_from(mutate.TOKENS),
    ),
    min_size=1,
    max_size=5,
)


@contextmanager
def _native(on: bool) -> Iterator[None]:
    old = os.environ.get("ROOFLENS_NATIVE")
    os.environ["ROOFLENS_NATIVE"] = "1" if on else "0"
    try:
        yield
    finally:
        if old is None:
            del os.environ["ROOFLENS_NATIVE"]
        else:
            os.environ["ROOFLENS_NATIVE"] = old


def _mutated(kind: str, mutations: list[mutate.Mutation], folder: str) -> Path:
    rel, suffix = mutate.SEEDS[kind]
    path = Path(folder) / f"input{suffix}"
    path.write_bytes(mutate.apply((mutate.FIXTURES / rel).read_bytes(), mutations))
    return path


def _seed_present(kind: str) -> bool:
    return (mutate.FIXTURES / mutate.SEEDS[kind][0]).exists()


@pytest.mark.parametrize("kind", ["nsys-sqlite", "kineto", "ncu-csv"])
@pytest.mark.parametrize("native", [True, False], ids=["native", "python"])
def test_mutated_captures_read_or_fail_in_one_line(kind: str, native: bool) -> None:
    if not _seed_present(kind):
        pytest.skip("real fixture absent")

    @FAST
    @given(MUTATIONS)
    def run(mutations: list[mutate.Mutation]) -> None:
        with tempfile.TemporaryDirectory() as folder, _native(native):
            mutate.run_reader(kind, _mutated(kind, mutations, folder))

    run()


def test_mutated_ncu_reports_read_or_fail_in_one_line() -> None:
    pytest.importorskip("ncu_report")
    if not _seed_present("ncu-rep"):
        pytest.skip("real fixture absent")

    @settings(FAST, max_examples=max(1, EXAMPLES // 3))
    @given(MUTATIONS)
    def run(mutations: list[mutate.Mutation]) -> None:
        with tempfile.TemporaryDirectory() as folder:
            mutate.run_reader("ncu-rep", _mutated("ncu-rep", mutations, folder))

    run()


# ------------------------------------------------------------------ corrupt cells in nsys SQLite

_COLUMNS = [
    ("CUPTI_ACTIVITY_KIND_KERNEL", c)
    for c in ("start", "end", "deviceId", "streamId", "correlationId", "globalPid", "demangledName",
              "shortName", "gridX", "gridY", "gridZ", "blockX", "registersPerThread",
              "staticSharedMemory", "dynamicSharedMemory")
] + [("CUPTI_ACTIVITY_KIND_RUNTIME", c) for c in ("start", "end", "globalTid", "correlationId", "nameId")] \
  + [("NVTX_EVENTS", c) for c in ("start", "end", "eventType", "globalTid", "textId", "text")] \
  + [("StringIds", c) for c in ("id", "value")] \
  + [("TARGET_INFO_GPU", c) for c in ("name", "smCount", "clockRate", "computeMajor", "id")]  # fmt: skip

CELL = st.one_of(
    st.none(),
    st.integers(-(2**63), 2**63 - 1),
    st.sampled_from([0, -1, 2**31, 2**32, 2**62, 2**63 - 1, -(2**63)]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.binary(max_size=12),
)
EDITS = st.lists(
    st.tuples(st.sampled_from(_COLUMNS), st.integers(1, 12), CELL), min_size=1, max_size=6
)


@functools.cache
def _synth_bytes() -> bytes:
    """The hand-built export every example edits (written once: SQLite's commits fsync)."""
    syn = Synth(
        kernels=[K(f"kern_{i}", 1000 * i, 1000 * i + 400, i, 1000 * i - 50) for i in range(1, 12)],
        ranges=[R("Run[0]", 0, 20_000), R("a", 100, 5_000), R("b", 200, 300), R("c", 50, 9_000, push_pop=False)],
    )  # fmt: skip
    with tempfile.TemporaryDirectory() as folder:
        return write_nsys(Path(folder) / "cells.sqlite", syn, text_inline=True).read_bytes()


def _synth_db(folder: str) -> Path:
    path = Path(folder) / "cells.sqlite"
    path.write_bytes(_synth_bytes())
    return path


def _outcome(path: Path) -> Any:
    try:
        trace = read_nsys_sqlite(path)
    except RooflensError as exc:
        assert "\n" not in str(exc)
        return f"error: {exc}"
    mutate.check_result(trace)
    return trace


@FAST
@given(EDITS)
def test_corrupt_sqlite_cells_read_the_same_in_c_and_python(edits: list[Any]) -> None:
    """Text, reals, blobs, NULL and extreme integers in any column the reader touches: both row
    readers return the same valid trace (or the same one-line error)."""
    native_or_skip()
    with tempfile.TemporaryDirectory() as folder:
        path = _synth_db(folder)
        con = sqlite3.connect(path)
        con.execute("PRAGMA synchronous = OFF")  # a scratch file: no fsync per example
        con.execute("PRAGMA journal_mode = MEMORY")
        for (table, column), row, value in edits:
            try:
                con.execute(f'UPDATE {table} SET "{column}" = ? WHERE rowid = ?', (value, row))
            except sqlite3.IntegrityError:
                continue  # StringIds.id is the rowid and value NOT NULL: SQLite refuses those
        con.commit()
        con.close()
        with _native(True):
            a = _outcome(path)
        with _native(False):
            b = _outcome(path)
        if isinstance(a, str) or isinstance(b, str):
            assert a == b
        else:
            assert_same_trace(a, b)
            assert a.warnings == b.warnings


# ------------------------------------------------------------------ odd values in Kineto events

SCALAR = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from(["12", " -3 ", "1.5", "1e400", "", "0x10", "1_0", "nan", "७"]),
    st.lists(st.integers(-5, 5), max_size=4),
)
EVENT = st.fixed_dictionaries(
    {"ph": st.sampled_from(["X", "X", "X", "i"]),
     "cat": st.sampled_from(["kernel", "cuda_runtime", "user_annotation", "gpu_memcpy", "gpu_memset"]),
     "name": st.one_of(st.text(max_size=8), SCALAR),
     "ts": SCALAR, "dur": SCALAR, "pid": SCALAR, "tid": SCALAR,
     "args": st.fixed_dictionaries({}, optional={
         "correlation": SCALAR, "device": SCALAR, "stream": SCALAR, "bytes": SCALAR,
         "grid": st.one_of(SCALAR, st.lists(SCALAR, min_size=3, max_size=3)),
         "block": st.lists(SCALAR, min_size=3, max_size=3),
         "registers per thread": SCALAR, "shared memory": SCALAR})},
)  # fmt: skip


@settings(FAST, max_examples=EXAMPLES * 2)
@given(st.lists(EVENT, max_size=12), st.lists(st.dictionaries(st.sampled_from(["name", "numSms", "totalGlobalMem", "computeMajor", "computeMinor", "id"]), SCALAR), max_size=2))  # fmt: skip
def test_odd_kineto_values_read_the_same_in_c_and_python(
    events: list[Any], props: list[Any]
) -> None:
    """Any JSON scalar where a number belongs: both Kineto readers give the same valid trace."""
    native_or_skip()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "t.json"
        path.write_text(json.dumps({"deviceProperties": props, "traceEvents": events}))
        out = []
        for native in (True, False):
            with _native(native):
                try:
                    trace = read_kineto_json(path)
                except RooflensError as exc:
                    out.append(f"error: {exc}")
                    continue
            mutate.check_result(trace)
            out.append(trace)
        a, b = out
        if isinstance(a, str) or isinstance(b, str):
            assert a == b
        else:
            assert_same_trace(a, b)
            assert a.warnings == b.warnings
