"""The native Kineto scanner against the pure-Python reader, on real and adversarial traces.

The pure-Python reader (orjson + ``_collect``) is the reference: for any valid trace both must
build the same :class:`Trace`, whatever the chunking, the number of threads, and whether the
guessed part boundaries (``kineto_scan._resync_points``) land between events or inside strings.
"""

from __future__ import annotations

import gzip
import json
import os
import random
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from rooflens.errors import InputError
from rooflens.traces import kineto_scan
from rooflens.traces.kineto_json import KinetoJsonReader
from rooflens.traces.model import Trace

from .conftest import assert_same_trace as _assert_same
from .conftest import native_or_skip

PREFILL = Path(__file__).parents[1] / "fixtures" / "h200_llama3_8b_prefill" / "trace.json"


@pytest.fixture(autouse=True)
def _native() -> None:
    native_or_skip()


def _read(path: Path, backend: str, monkeypatch: pytest.MonkeyPatch, **kw: Any) -> Trace:
    monkeypatch.setenv("ROOFLENS_NATIVE", "1" if backend == "native" else "0")
    return KinetoJsonReader(path, **kw).read()


# ---------------------------------------------------------------- adversarial traces

_NAMES = [
    "void at::native::vectorized_elementwise_kernel<4, at::native::FillFunctor<float>>(int, float)",
    'quote " and backslash \\ and }, { inside',  # the resync pattern inside a string
    "}, {",
    "ünïcödé ✓ 核函数",
    "tab\tnew\nline",
    "",
    "x" * 300,
]


def _scalar(rng: random.Random) -> Any:
    return rng.choice([None, True, False, 0, -3, 7, 2.5, -0.25, "12", " 34 ", "abc", "1.5"])


def _int_like(rng: random.Random) -> Any:
    return rng.choice([rng.randint(0, 10**6), rng.randint(0, 10**6), -1, 3.0, 9.75, "42", " 8 ",
                       "x", None, True, [1], {"a": 1}])  # fmt: skip


def _time(rng: random.Random) -> Any:
    base = rng.uniform(0, 5e12)
    return rng.choice([round(base, 3), round(base, 3), round(base), float(round(base, 1)),
                       f"{base:.3f}", "12.5e3", True, None, [1]])  # fmt: skip


def _event(rng: random.Random, i: int) -> Any:
    if rng.random() < 0.03:  # not an object: skipped by both readers
        return rng.choice([1, "text {", [1, {"ph": "X"}], None])
    cat = rng.choice(["kernel", "kernel", "cuda_runtime", "cuda_driver", "user_annotation",
                      "gpu_memcpy", "gpu_memset", "cpu_op", "python_function", "ac2g"])  # fmt: skip
    ev: dict[str, Any] = {"ph": rng.choice(["X"] * 8 + ["i", "s", "f", "B"]), "cat": cat}
    if rng.random() < 0.05:
        del ev["cat"]
    if rng.random() < 0.95:
        ev["name"] = rng.choice(_NAMES) + str(i % 7)
    for key in ("pid", "tid"):
        if rng.random() < 0.95:
            ev[key] = _int_like(rng)
    if rng.random() < 0.97:
        ev["ts"] = _time(rng)
    if rng.random() < 0.9:
        ev["dur"] = rng.choice([round(rng.uniform(0, 1e4), 3), 0, 1, "2.5", None])
    args: Any = {}
    if cat == "kernel":
        args = {"External id": i, "queued": 0, "device": _int_like(rng), "context": 1,
                "stream": _int_like(rng), "correlation": _int_like(rng),
                "registers per thread": _int_like(rng), "shared memory": _int_like(rng),
                "blocks per SM": 1.939394, "warps per SM": 15.5,
                "grid": rng.choice([[128, 2, 1], [1, 1], ["4", 2.9, None], "big", [1, [2], 3]]),
                "block": [256, 1, 1], "est. achieved occupancy %": 24}  # fmt: skip
    elif cat in ("cuda_runtime", "cuda_driver"):
        args = {"External id": i, "cbid": 211, "correlation": _int_like(rng)}
    elif cat.startswith("gpu_mem"):
        args = {"device": 0, "stream": 7, "correlation": i, "bytes": _int_like(rng)}
    else:
        args = {"External id": i, "nested": {"list": [{"a": "}"}, [[], {}]], "s": "]"},
                "Input Dims": [[1, 2], []], "x": _scalar(rng)}  # fmt: skip
    for key in list(args):
        if rng.random() < 0.05:
            del args[key]
    ev["args"] = rng.choice([args] * 10 + [None, [], "none"])
    if rng.random() < 0.1:
        ev["extra"] = {"deep": [[[{"k": ["v", 1e-7, -2e30]}]]]}
    return ev


def _write(path: Path, events: list[Any], indent: int | None, seed: int) -> list[int]:
    """Write a Kineto-like document; returns the byte offset of every event in traceEvents."""
    rng = random.Random(seed)
    head = {"schemaVersion": 1, "deviceProperties": [{"id": 0, "name": "GPU {0}", "numSms": 132}],
            "traceName": 'a "}, {" name'}  # fmt: skip
    prefix = json.dumps(head, ensure_ascii=False)[:-1] + ', "traceEvents": [\n'
    chunks, offsets, pos = [], [], len(prefix.encode())
    for i, ev in enumerate(events):
        sep = "" if i == 0 else rng.choice([",\n", ",", " , "])
        text = json.dumps(ev, ensure_ascii=rng.random() < 0.3, indent=indent)
        pos += len(sep.encode())
        offsets.append(pos)
        chunks.append(sep + text)
        pos += len(text.encode())
    tail = '\n], "displayTimeUnit": "ms"}\n'
    path.write_text(prefix + "".join(chunks) + tail, encoding="utf-8")
    return offsets


@pytest.mark.parametrize("seed", range(6))
def test_random_traces_match_the_python_reader(
    tmp_path: Path, seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = random.Random(seed)
    events = [_event(rng, i) for i in range(400)]
    path = tmp_path / "t.json"
    _write(path, events, indent=None if seed % 2 else 1, seed=seed)
    ref = _read(path, "python", monkeypatch)
    # (kernels of zero length or with negative sizes are dropped as impossible: fewer remain)
    assert len(ref.kernels) > 10 and len(ref.launches) > 20 and len(ref.ranges) > 10
    _assert_same(_read(path, "native", monkeypatch, threads=1), ref)
    # Many small parts and tiny windows: every part boundary and window edge is exercised.
    monkeypatch.setattr(kineto_scan, "MIN_PART_BYTES", 1)
    monkeypatch.setattr(kineto_scan, "WINDOW_BYTES", 1)  # rounded up to one page
    for threads in (2, 3, 7):
        _assert_same(_read(path, "native", monkeypatch, threads=threads), ref)


def test_guessed_boundary_inside_a_string_is_caught(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Names full of ``}, {`` make some guessed part starts fall inside strings; the result
    must not change (the part before finishes the scan alone)."""
    events = [{"ph": "X", "cat": "kernel", "name": "}, {" * 50 + str(i), "pid": 0, "tid": 7,
               "ts": 1000.0 + i, "dur": 0.5, "args": {"correlation": i, "grid": [1, 1, 1]}}
              for i in range(300)]  # fmt: skip
    path = tmp_path / "t.json"
    offsets = set(_write(path, events, indent=None, seed=1))
    monkeypatch.setattr(kineto_scan, "MIN_PART_BYTES", 1)
    _, first, size = kineto_scan.read_head(path)
    fd = os.open(path, os.O_RDONLY)
    try:
        points = kineto_scan._resync_points(fd, first, size, 8)
    finally:
        os.close(fd)
    assert any(p not in offsets for p in points[1:]), "no guess fell inside a string"
    ref = _read(path, "python", monkeypatch)
    _assert_same(_read(path, "native", monkeypatch, threads=8), ref)
    assert len(ref.kernels) == 300


def test_real_capture_same_with_both_readers(monkeypatch: pytest.MonkeyPatch) -> None:
    ref = _read(PREFILL, "python", monkeypatch)
    _assert_same(_read(PREFILL, "native", monkeypatch, threads=1), ref)
    monkeypatch.setattr(kineto_scan, "MIN_PART_BYTES", 1)
    _assert_same(_read(PREFILL, "native", monkeypatch, threads=4), ref)


def test_gzip_uses_the_native_scanner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    gz = tmp_path / "trace.json.gz"
    gz.write_bytes(gzip.compress(PREFILL.read_bytes()))
    _assert_same(_read(gz, "native", monkeypatch), _read(gz, "python", monkeypatch))


def test_numbers_are_parsed_exactly(tmp_path: Path) -> None:
    """Timestamps in every JSON number form give the same double as Python's float()."""
    rng = random.Random(7)
    texts = []
    for _ in range(3000):
        digits, x = rng.randint(0, 20), rng.uniform(0, 10)
        texts.append(rng.choice([
            repr(round(rng.uniform(0, 1e13), rng.randint(0, 6))),
            repr(rng.uniform(0, 10 ** rng.randint(0, 25))),
            str(rng.randint(0, 10 ** rng.randint(1, 22))),
            f"{rng.random():.{digits + 1}f}",
            f"{x:.{digits}e}",
            f"{x:.{digits}f}E+{rng.randint(0, 30)}",
            repr(rng.uniform(0, 1) * 10 ** rng.randint(-300, 300)),
        ]))  # fmt: skip
    body = ",".join(
        f'{{"ph":"X","cat":"cuda_runtime","ts":{t},"dur":{texts[-i - 1]},"args":{{"correlation":{i}}}}}'
        for i, t in enumerate(texts)
    )
    path = tmp_path / "n.json"
    path.write_text('{"traceEvents":[' + body + "]}")
    _, parts = kineto_scan.scan_file(path, 1)
    block = parts[0].tables["launch"]
    want = np.array([float(t) for t in texts])
    assert block.ts.tolist() == want.tolist()
    assert block.dur.tolist() == want[::-1].tolist()


# ---------------------------------------------------------------- malformed input


@pytest.mark.parametrize(
    "events, problem",
    [
        (b'{"ph": "X"} {"ph": "X"}', "expected ',' or ']' between events"),
        (b'{"ph": "X", "cat": "kernel", "name": "a\x01b"}', "control character"),
        (b'{"ph": "X", "cat": "kernel", "name": "a\\qb"}', "invalid escape"),
        (b'{"ph": "X", "cat": "kernel", "name": "k\xe9rnel"}', "not valid UTF-8"),
        (b'{"ph": "X", "cat": "kernel", "ts": 1.}', "invalid number"),
        (b'{"ph": "X", "cat": "kernel", "ts": tru}', "invalid literal"),
        (b'{"ph": "X", "cat": "kernel" "ts": 1}', "expected ',' or '}'"),
        (b'{"ph": "X", "cat": "kernel", ts: 1}', "expected a key"),
        (b'{"ph": "X"},]', "unexpected character"),
        (b"[" * 600 + b"]" * 600, "nesting too deep"),
    ],
)
def test_malformed_events(tmp_path: Path, events: bytes, problem: str) -> None:
    path = tmp_path / "bad.json"
    path.write_bytes(b'{"traceEvents": [' + events + b"]}")
    with pytest.raises(InputError, match=problem) as exc:
        KinetoJsonReader(path).read()
    assert "bad.json" in str(exc.value) and "near byte" in str(exc.value)


def test_every_truncation_is_an_error(tmp_path: Path) -> None:
    """A file cut anywhere inside the events array: one clear error, never a crash or a hang."""
    full = PREFILL.read_bytes()[:20_000] + b"\n]}"
    start = full.index(b"[", full.index(b'"traceEvents"'))
    path = tmp_path / "cut.json"
    for cut in range(start + 1, len(full) - 2, 97):
        path.write_bytes(full[:cut])
        with pytest.raises(InputError, match="cut.json: not valid JSON"):
            KinetoJsonReader(path).read()
