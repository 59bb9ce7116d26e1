"""nsys SQLite reader on hand-built exports: every expected value is written out by hand."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pytest

from rooflens.traces.model import RANGE_PUSH_POP, RANGE_START_END
from rooflens.traces.nsys_sqlite import read_nsys_sqlite

from .synth import K, R, Synth, write_nsys


def _synth() -> Synth:
    return Synth(
        kernels=[
            K(
                "void gemm<half>(half*, int)",
                10_000,
                12_500,
                7,
                9_000,
                grid=(64, 2, 1),
                block=(256, 1, 1),
                regs=168,
            ),
            K("rms_norm", 13_000, 14_000, 8, 12_000, pid=200, tid=201, stream=9),
        ],
        ranges=[
            R("Run[0]", 8_000, 20_000),
            R("qkv_proj", 8_500, 9_500),
            R("async", 1_000, 30_000, push_pop=False),
        ],
    )



@pytest.fixture(autouse=True)
def _both_backends(reader_backend: str) -> str:
    """Every test here runs with the C row reader and with Python's sqlite3 cursor."""
    return reader_backend

def test_kernels_in_seconds_with_names_and_launch_geometry(tmp_path: Path) -> None:
    t = read_nsys_sqlite(write_nsys(tmp_path / "a.sqlite", _synth()))
    t.self_check()
    k = t.kernels
    assert len(k) == 2
    np.testing.assert_allclose(k.start_s, [10e-6, 13e-6])
    np.testing.assert_allclose(k.end_s - k.start_s, [2.5e-6, 1.0e-6])
    assert t.strings[k.name_id[0]] == "void gemm<half>(half*, int)"
    assert k.grid[0].tolist() == [64, 2, 1] and k.block[0].tolist() == [256, 1, 1]
    assert k.registers_per_thread.tolist() == [168, 32]
    assert k.shared_mem_bytes.tolist() == [1024, 1024]  # static 1024 + dynamic 0 in synth
    assert k.pid.tolist() == [100, 200]  # globalPid >> 24
    assert k.stream.tolist() == [7, 9] and k.correlation.tolist() == [7, 8]


def test_launches_decode_global_tid(tmp_path: Path) -> None:
    t = read_nsys_sqlite(write_nsys(tmp_path / "a.sqlite", _synth()))
    la = t.launches
    order = np.argsort(la.correlation)
    assert la.pid[order].tolist() == [100, 200]
    assert la.tid[order].tolist() == [100, 201]
    np.testing.assert_allclose(la.start_s[order], [9e-6, 12e-6])


@pytest.mark.parametrize("inline", [False, True])
def test_ranges_kinds_nesting_and_names(tmp_path: Path, inline: bool) -> None:
    t = read_nsys_sqlite(write_nsys(tmp_path / "a.sqlite", _synth(), text_inline=inline))
    r = t.ranges
    names = [t.strings[i] for i in r.name_id]
    assert sorted(names) == ["Run[0]", "async", "qkv_proj"]  # the mark (type 34) is not a range
    by = {n: i for i, n in enumerate(names)}
    assert r.kind[by["async"]] == RANGE_START_END and r.kind[by["Run[0]"]] == RANGE_PUSH_POP
    assert r.depth[by["qkv_proj"]] == 1 and r.parent[by["qkv_proj"]] == by["Run[0]"]
    assert r.parent[by["async"]] == -1


def test_gpu_info(tmp_path: Path) -> None:
    t = read_nsys_sqlite(write_nsys(tmp_path / "a.sqlite", _synth()))
    g = t.gpus[0]
    assert g.name == "NVIDIA H100 80GB HBM3"
    assert g.sm_count == 132 and g.l2_cache_bytes == 52428800
    assert g.memory_bandwidth_bps == 3.35232e12 and g.compute_capability == "9.0"


def test_without_nvtx_table_reads_kernels_and_warns(tmp_path: Path) -> None:
    t = read_nsys_sqlite(write_nsys(tmp_path / "a.sqlite", _synth(), with_nvtx=False))
    assert len(t.kernels) == 2 and len(t.ranges) == 0
    assert any("NVTX" in w for w in t.warnings)


def test_memcpy_and_memset(tmp_path: Path) -> None:
    path = write_nsys(tmp_path / "a.sqlite", _synth())
    con = sqlite3.connect(path)
    for table in ("CUPTI_ACTIVITY_KIND_MEMCPY", "CUPTI_ACTIVITY_KIND_MEMSET"):
        con.execute(
            f"CREATE TABLE {table} (start INT, end INT, deviceId INT, streamId INT, "
            "correlationId INT, globalPid INT, bytes INT)"
        )
    con.execute(
        "INSERT INTO CUPTI_ACTIVITY_KIND_MEMCPY VALUES (500, 900, 0, 7, 3, ?, 4096)", (100 << 24,)
    )
    con.execute(
        "INSERT INTO CUPTI_ACTIVITY_KIND_MEMSET VALUES (100, 200, 0, 7, 2, ?, 64)", (100 << 24,)
    )
    con.commit()
    con.close()
    c = read_nsys_sqlite(path).copies
    assert c.size_bytes.tolist() == [64, 4096]  # sorted by start
    assert c.is_memset.tolist() == [True, False]
    np.testing.assert_allclose(c.end_s - c.start_s, [100e-9, 400e-9])


def test_kernel_name_missing_from_string_table(tmp_path: Path) -> None:
    path = write_nsys(tmp_path / "a.sqlite", _synth())
    con = sqlite3.connect(path)
    con.execute("DELETE FROM StringIds WHERE value = 'rms_norm'")
    con.commit()
    con.close()
    t = read_nsys_sqlite(path)
    t.self_check()
    assert t.strings[t.kernels.name_id[1]] == "<unknown>"


@pytest.mark.parametrize(
    "fixture",
    sorted(p for p in (Path(__file__).parents[1] / "fixtures").glob("*/*.sqlite*")
           if p.name.endswith((".sqlite", ".sqlite.gz"))),  # fmt: skip
    ids=str,
)
def test_c_reader_equals_python_cursor_on_real_exports(
    fixture: Path, monkeypatch: pytest.MonkeyPatch, reader_backend: str
) -> None:
    """The C row reader and Python's sqlite3 give the same trace, helper thread or not."""
    from rooflens.traces import nsys_sqlite

    from .conftest import assert_same_trace, native_or_skip

    native_or_skip()
    monkeypatch.setenv("ROOFLENS_NATIVE", "0")
    ref = read_nsys_sqlite(fixture)
    monkeypatch.setenv("ROOFLENS_NATIVE", "1")
    for parallel_min in (10**9, 1):  # inline, then launches and ranges on the helper thread
        monkeypatch.setattr(nsys_sqlite, "PARALLEL_MIN_KERNELS", parallel_min)
        assert_same_trace(read_nsys_sqlite(fixture), ref)
