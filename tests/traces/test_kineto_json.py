"""Kineto JSON reader on hand-built traces (microseconds in, seconds out), with both backends."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import orjson
import pytest

from rooflens.errors import InputError
from rooflens.traces.kineto_json import read_kineto_json

from .synth import K, R, Synth, write_kineto


@pytest.fixture(autouse=True)
def _both_backends(reader_backend: str) -> str:
    """Every test here runs with the native scanner and with the pure-Python reader."""
    return reader_backend


def _synth() -> Synth:
    return Synth(
        kernels=[
            K(
                "void at::native::vectorized_elementwise_kernel<4, float>(int, float)",
                10_000,
                12_250,
                5,
                9_000,
            ),
            K(
                "nvjet_hsh_128x256",
                13_000,
                14_000,
                6,
                12_000,
                grid=(132, 1, 1),
                block=(384, 1, 1),
                regs=168,
            ),
        ],
        ranges=[R("Run[1]", 8_000, 20_000), R("attention", 8_500, 9_500)],
    )


def test_kernels_launches_ranges_in_si(tmp_path: Path) -> None:
    t = read_kineto_json(write_kineto(tmp_path / "t.json", _synth()))
    t.self_check()
    k = t.kernels
    assert t.time_origin_s == pytest.approx(
        8e-6
    )  # the earliest event (Run[1]); times are relative to it
    np.testing.assert_allclose(k.start_s + t.time_origin_s, [10e-6, 13e-6])
    np.testing.assert_allclose(k.end_s - k.start_s, [2.25e-6, 1e-6])
    assert t.strings[k.short_id[0]] == "vectorized_elementwise_kernel"
    assert t.strings[k.short_id[1]] == "nvjet_hsh_128x256"
    assert k.grid[1].tolist() == [132, 1, 1] and k.registers_per_thread[1] == 168
    assert k.pid.tolist() == [100, 100]  # the launching process, found through the correlation id
    assert t.launches.correlation.tolist() == [5, 6]
    names = [t.strings[i] for i in t.ranges.name_id]
    assert names == ["Run[1]", "attention"]
    assert t.ranges.parent.tolist() == [-1, 0]
    assert t.gpus[0].name == "NVIDIA H100 80GB HBM3" and t.gpus[0].sm_count == 132


def test_gzip_trace(tmp_path: Path) -> None:
    plain = write_kineto(tmp_path / "t.json", _synth())
    gz = tmp_path / "t.json.gz"
    gz.write_bytes(gzip.compress(plain.read_bytes()))
    assert len(read_kineto_json(gz).kernels) == 2


@pytest.mark.parametrize(
    "doc, problem",
    [
        ({"foo": 1}, "traceEvents"),
        ([1, 2, 3], "traceEvents"),
        ({"traceEvents": {"ph": "X"}}, "traceEvents"),
    ],
)
def test_json_that_is_not_kineto(tmp_path: Path, doc: object, problem: str) -> None:
    p = tmp_path / "x.json"
    p.write_bytes(orjson.dumps(doc))
    with pytest.raises(InputError, match=problem):
        read_kineto_json(p)


def test_truncated_json(tmp_path: Path) -> None:
    p = tmp_path / "x.json"
    p.write_bytes(write_kineto(tmp_path / "t.json", _synth()).read_bytes()[:200])
    with pytest.raises(InputError, match="not valid JSON"):
        read_kineto_json(p)
