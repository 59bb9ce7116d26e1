"""Mutations of real captures and the readers' contract, shared by the Hypothesis tests
(tests/traces/test_fuzz_readers.py) and the long campaigns of scripts/fuzz_readers.py.

The contract: a reader returns a valid result or raises ``RooflensError`` with a one-line
message; never another exception.  "Valid" is checked by :func:`check_result`.
No relative imports: scripts/fuzz_readers.py imports this file by path.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"

#: reader kind → (seed file under tests/fixtures, suffix the mutated copy gets)
SEEDS: dict[str, tuple[str, str]] = {
    "nsys-sqlite": ("h200_llama3_8b_prefill/timeline.sqlite", ".sqlite"),
    "kineto": ("h200_llama3_8b_prefill/trace.json", ".json"),
    "ncu-csv": ("h200_llama3_8b_gemm_ncu/kernels.csv", ".csv"),
    "ncu-rep": ("h200_llama3_8b_gemm_ncu/kernels.ncu-rep", ".ncu-rep"),
}

OPS = ("flip", "delete", "insert", "duplicate", "truncate", "smash")
#: Bytes that break structure in one of the formats (JSON, CSV, numbers, UTF-8, SQLite pages).
TOKENS = (b'"', b"\\", b"{", b"}", b"[", b"]", b",", b":", b"\n", b"\x00", b"\xff", b"\xe2\x82",
          b"1e400", b"-1e308", b"NaN", b"-1", b"18446744073709551615", b"9223372036854775807",
          b"\\ud800", b'"dur": -5', b'"ts": 1e400', b'"n/a"', b'",""', b"\xff" * 64)  # fmt: skip

#: One mutation: (operation, where in the data as a fraction in [0, 1), length, token).
Mutation = tuple[str, float, int, bytes]


def apply(data: bytes, mutations: Sequence[Mutation]) -> bytes:
    """``data`` with each mutation applied in turn (positions are fractions of the current size)."""
    out = bytearray(data)
    for op, where, length, token in mutations:
        if not out:
            break
        at = min(int(where * len(out)), len(out) - 1)
        if op == "flip":
            out[at] ^= 1 << (length % 8)
        elif op == "delete":
            del out[at : at + length]
        elif op == "insert":
            out[at:at] = token
        elif op == "duplicate":
            out[at:at] = out[at : at + length]
        elif op == "truncate":
            del out[max(1, at) :]
        elif op == "smash":  # a whole region overwritten: a torn page
            end = min(len(out), at + length)
            out[at:end] = (token * (length // max(1, len(token)) + 1))[: end - at]
    return bytes(out)


def random_mutations(rng: random.Random, most: int = 6) -> list[Mutation]:
    """Mutations drawn from ``rng`` (the campaign script's generator)."""
    return [
        (
            rng.choice(OPS),
            rng.random(),
            rng.choice([1, 3, 17, 100, 4096, 65536]),
            rng.choice(TOKENS),
        )
        for _ in range(rng.randint(1, most))
    ]


def reader(kind: str) -> Callable[[Path], Any]:
    """The reader function for ``kind`` (imported late: the ncu_report module is optional)."""
    if kind == "nsys-sqlite":
        from rooflens.traces.nsys_sqlite import read_nsys_sqlite

        return read_nsys_sqlite
    if kind == "kineto":
        from rooflens.traces.kineto_json import read_kineto_json

        return read_kineto_json
    if kind == "ncu-csv":
        from rooflens.traces.ncu_csv import read_ncu_csv

        return read_ncu_csv
    from rooflens.traces.ncu_report import read_ncu_report

    return read_ncu_report


def run_reader(kind: str, path: Path) -> str:
    """Read ``path``; ``"ok"`` or ``"error: <message>"``.  Anything else (another exception, an
    invalid result, a multi-line message) propagates: that is a failure."""
    from rooflens.errors import RooflensError

    try:
        result = reader(kind)(path)
    except RooflensError as exc:
        msg = str(exc)
        assert "\n" not in msg and msg.strip(), f"error message is not one line: {msg!r}"
        return f"error: {msg}"
    check_result(result)
    return "ok"


def _one_line(lines: list[str]) -> None:
    for w in lines:
        assert isinstance(w, str) and "\n" not in w, f"warning is not one line: {w!r}"


def check_result(result: Any) -> None:
    """The invariants every reader's result keeps (a Trace or NcuKernels); AssertionError if not."""
    from rooflens.traces.model import NcuKernels, Trace

    if isinstance(result, Trace):
        result.self_check()
        k = result.kernels
        assert np.all(np.isfinite(k.start_s)) and np.all(np.isfinite(k.end_s))
        assert np.all(k.end_s >= k.start_s), "a kernel of negative length"
        for table in (result.launches, result.ranges, result.copies):
            assert np.all(np.isfinite(table.start_s)) and np.all(table.end_s >= table.start_s)
        assert np.all(result.copies.size_bytes >= 0)
        r = result.ranges
        assert np.all(r.parent < len(r)) and np.all(r.depth >= 0)
        _one_line(result.warnings)
        return
    assert isinstance(result, NcuKernels), type(result)
    assert result.kernels, "NcuKernels without kernels"
    for kern in result.kernels:
        assert all(np.isfinite(v) for v in kern.metrics.values()), kern.id
        assert kern.metrics.get("gpu__time_duration.sum", 0.0) >= 0
    _one_line(result.warnings)
    _one_line(result.notes)
