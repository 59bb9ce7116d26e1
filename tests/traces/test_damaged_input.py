"""Damaged and impossible input: an error or a counted warning, never silence (issue 12).

The inputs are the real captures under tests/fixtures, cut or edited here; every expected count
is taken from the untouched file by hand (a line count, an SQL query), not from the reader.
"""

from __future__ import annotations

import csv
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from rooflens.errors import InputError
from rooflens.traces import load_ncu, load_timeline
from rooflens.traces.ncu_csv import read_ncu_csv
from rooflens.traces.nsys_sqlite import read_nsys_sqlite

from .synth import K, R, Synth, write_nsys

FIX = Path(__file__).resolve().parents[1] / "fixtures"
DECODE4 = FIX / "h200_llama3_8b_decode4"
PREFILL = FIX / "h200_llama3_8b_prefill"
GEMM = FIX / "h200_llama3_8b_gemm_ncu"
pytestmark = pytest.mark.skipif(not DECODE4.exists(), reason="real fixtures not present")


def _csv_rows(path: Path) -> list[list[str]]:
    return list(csv.reader(path.read_text().splitlines()))


# ----------------------------------------------------------------------------- NCU CSV


def test_csv_cut_mid_row_drops_that_row_and_says_so(tmp_path: Path) -> None:
    text = (DECODE4 / "kernels.csv").read_text()
    whole = len(_csv_rows(DECODE4 / "kernels.csv")) - 2  # header and units rows
    last = text.rstrip("\n").rfind("\n")
    p = tmp_path / "cut.csv"
    p.write_text(text[: last + 200])  # 200 characters into the last row
    ncu = read_ncu_csv(p)
    assert len(ncu.kernels) == whole - 1
    assert any("1 kernel lost" in w for w in ncu.warnings), ncu.warnings
    assert all(k.metrics.get("gpu__time_duration.sum", 1.0) > 0 for k in ncu.kernels)


def test_csv_row_short_of_cells_is_dropped_not_a_zero_second_kernel(tmp_path: Path) -> None:
    rows = _csv_rows(DECODE4 / "kernels.csv")
    rows[5] = rows[5][:20]  # a row of kernel ID 3 cut to 20 cells, the file still ends in "\n"
    p = tmp_path / "short.csv"
    with p.open("w", newline="") as fh:
        csv.writer(fh, quoting=csv.QUOTE_ALL).writerows(rows)
    ncu = read_ncu_csv(p)
    assert [k.id for k in ncu.kernels] == [i for i in range(len(rows) - 2) if i != 3]
    assert any("fewer cells than the header" in w and "1 kernel(s) lost" in w for w in ncu.warnings)
    assert any("miss 1 value" in w for w in ncu.warnings)  # the ID gap is reported as well


def test_csv_cut_mid_file_at_a_row_boundary_shows_as_an_id_gap(tmp_path: Path) -> None:
    lines = (DECODE4 / "kernels.csv").read_text().splitlines(keepends=True)
    p = tmp_path / "gap.csv"
    p.write_text("".join(lines[:10] + lines[15:]))  # rows of IDs 8..12 removed
    ncu = read_ncu_csv(p)
    assert any("miss 5 value(s)" in w for w in ncu.warnings), ncu.warnings


def test_csv_without_units_row_assumes_base_units_and_says_so(tmp_path: Path) -> None:
    rows = _csv_rows(PREFILL / "kernels_base.csv")
    assert rows[1][rows[0].index("gpu__time_duration.sum")] == "ns"
    p = tmp_path / "nounits.csv"
    lines = (PREFILL / "kernels_base.csv").read_text().splitlines(keepends=True)
    p.write_text(lines[0] + "".join(lines[2:]))
    ncu = read_ncu_csv(p)
    col = rows[0].index("gpu__time_duration.sum")
    want = [float(r[col].replace(",", "")) * 1e-9 for r in rows[2:]]
    got = [k.metrics["gpu__time_duration.sum"] for k in ncu.kernels]
    np.testing.assert_allclose(got, want, rtol=1e-12)
    assert any("no units row" in w and "base units assumed" in w for w in ncu.warnings)


@pytest.mark.parametrize("value", ["1e400", "-1e308", "-5", "inf"])
def test_csv_impossible_metric_values_are_dropped_and_counted(tmp_path: Path, value: str) -> None:
    rows = _csv_rows(DECODE4 / "kernels.csv")
    col = rows[0].index("gpu__time_duration.sum")
    rows[2][col] = value
    p = tmp_path / "bad.csv"
    with p.open("w", newline="") as fh:
        csv.writer(fh, quoting=csv.QUOTE_ALL).writerows(rows)
    ncu = read_ncu_csv(p)
    assert "gpu__time_duration.sum" not in ncu.kernels[0].metrics
    assert any("1 metric value(s) dropped as impossible" in w for w in ncu.warnings)
    assert all(k.metrics.get("gpu__time_duration.sum", 0) >= 0 for k in ncu.kernels)


def test_csv_id_out_of_range_is_one_line_error(tmp_path: Path) -> None:
    rows = _csv_rows(DECODE4 / "kernels.csv")
    rows[3][rows[0].index("ID")] = "1e400"
    p = tmp_path / "id.csv"
    with p.open("w", newline="") as fh:
        csv.writer(fh, quoting=csv.QUOTE_ALL).writerows(rows)
    with pytest.raises(InputError, match="row 4: bad kernel ID"):
        read_ncu_csv(p)


# ----------------------------------------------------------------------------- .ncu-rep


def test_truncated_ncu_rep_is_a_warning(tmp_path: Path) -> None:
    pytest.importorskip("ncu_report")
    raw = (GEMM / "kernels.ncu-rep").read_bytes()
    p = tmp_path / "cut.ncu-rep"
    p.write_bytes(raw[:300_000])
    ncu = load_ncu(p)
    assert ncu.warnings and "truncated" in ncu.warnings[0]
    assert not load_ncu(GEMM / "kernels.ncu-rep").warnings  # the whole file: no warning


def test_text_named_ncu_rep_is_not_a_report(tmp_path: Path) -> None:
    p = tmp_path / "notes.ncu-rep"
    p.write_text("my notes about kernels\n")
    with pytest.raises(InputError, match="not an Nsight Compute report"):
        load_ncu(p)


# ----------------------------------------------------------------------------- Kineto


def test_kineto_not_valid_json_is_an_error(tmp_path: Path, reader_backend: str) -> None:
    raw = (PREFILL / "trace.json").read_bytes()
    p = tmp_path / "cut.json"
    p.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(InputError, match="not valid JSON"):
        load_timeline(p)


def test_json_that_is_not_json_says_so(tmp_path: Path) -> None:
    p = tmp_path / "notes.json"
    p.write_text("these are notes, not JSON")
    with pytest.raises(InputError, match="not valid JSON .*not a PyTorch profiler"):
        load_timeline(p)


def test_kineto_impossible_events_are_dropped_and_counted(
    tmp_path: Path, reader_backend: str
) -> None:
    def kernel(ts: object, dur: object, **args: object) -> dict[str, object]:
        return {"ph": "X", "cat": "kernel", "name": "k", "pid": 0, "tid": 7, "ts": ts, "dur": dur,
                "args": {"correlation": 1, "grid": [1, 1, 1], "block": [32, 1, 1], **args}}  # fmt: skip

    events = [
        kernel(100, 5),  # the only possible one
        kernel(110, 0),  # zero length
        kernel(120, -3),  # ends before it starts
        kernel(1.8446744073709552e19, 1),  # near 2**64 us
        kernel(-1e308, 1),
        kernel(130, 1e300),
        kernel(140, 2, **{"shared memory": -1}),
        kernel(150, 2, correlation=10**30),  # beyond int64: the column's default, no overflow
    ]
    doc = {"traceEvents": events}
    p = tmp_path / "t.json"
    p.write_text(json.dumps(doc))  # (orjson refuses to write 10**30)
    t = load_timeline(p)
    t.self_check()
    assert len(t.kernels) == 2
    assert t.kernels.correlation.tolist() == [1, -1]
    assert bool(np.all(t.kernels.end_s > t.kernels.start_s))
    assert t.warnings[0].startswith("6 of 8 kernels dropped as impossible")


# ----------------------------------------------------------------------------- nsys SQLite


def _edit(src: Path, dst: Path, *sql: str) -> Path:
    dst.write_bytes(src.read_bytes())
    con = sqlite3.connect(dst)
    for q in sql:
        con.execute(q)
    con.commit()
    con.close()
    return dst


def test_nsys_impossible_rows_are_dropped_and_counted(tmp_path: Path, reader_backend: str) -> None:
    src = DECODE4 / "timeline.sqlite"
    con = sqlite3.connect(src)
    (n,) = con.execute("SELECT COUNT(*) FROM CUPTI_ACTIVITY_KIND_KERNEL").fetchone()
    (copies,) = con.execute("SELECT COUNT(*) FROM CUPTI_ACTIVITY_KIND_MEMCPY").fetchone()
    (sets,) = con.execute("SELECT COUNT(*) FROM CUPTI_ACTIVITY_KIND_MEMSET").fetchone()
    con.close()
    p = _edit(
        src, tmp_path / "bad.sqlite",
        "UPDATE CUPTI_ACTIVITY_KIND_KERNEL SET end = start - 5 WHERE rowid IN (1, 2)",
        "UPDATE CUPTI_ACTIVITY_KIND_KERNEL SET end = start WHERE rowid = 3",
        "UPDATE CUPTI_ACTIVITY_KIND_KERNEL SET start = 9223372036854775800, "
        "end = 9223372036854775807 WHERE rowid = 4",
        "UPDATE CUPTI_ACTIVITY_KIND_KERNEL SET start = 'abc' WHERE rowid = 5",  # reads as 0..end
        "UPDATE CUPTI_ACTIVITY_KIND_MEMCPY SET bytes = -1 WHERE rowid = 1",
    )  # fmt: skip
    t = read_nsys_sqlite(p)
    t.self_check()
    assert len(t.kernels) == n - 4
    assert bool(np.all(t.kernels.end_s > t.kernels.start_s))
    assert f"4 of {n} kernels dropped as impossible" in t.warnings[0]
    assert len(t.copies) == copies + sets - 1 and bool(np.all(t.copies.size_bytes >= 0))


def test_nsys_corrupt_cells_and_ids_read_the_same_in_c_and_python(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Text, reals, blobs and NULL in integer columns, string ids near 2**63 or negative: no
    exception, no huge allocation, and the C and Python row readers agree."""
    from .conftest import assert_same_trace, native_or_skip

    native_or_skip()
    syn = Synth(kernels=[K(f"k{i}", 1000 * i, 1000 * i + 500, i, 1000 * i - 100) for i in range(1, 40)],
                ranges=[R("Run[0]", 0, 50_000), R("inner", 100, 900)])  # fmt: skip
    p = write_nsys(tmp_path / "c.sqlite", syn)
    con = sqlite3.connect(p)
    for q in (
        "UPDATE CUPTI_ACTIVITY_KIND_KERNEL SET gridX = 'zz', end = NULL WHERE rowid = 2",
        "UPDATE CUPTI_ACTIVITY_KIND_KERNEL SET start = 1.5e300 WHERE rowid = 3",
        "UPDATE CUPTI_ACTIVITY_KIND_KERNEL SET demangledName = -7 WHERE rowid = 4",
        "UPDATE CUPTI_ACTIVITY_KIND_KERNEL SET shortName = 9223372036854775000 WHERE rowid = 5",
        "UPDATE CUPTI_ACTIVITY_KIND_KERNEL SET blockX = x'3132' WHERE rowid = 6",
        "UPDATE CUPTI_ACTIVITY_KIND_RUNTIME SET correlationId = 'x', start = NULL WHERE rowid < 4",
        "INSERT INTO StringIds VALUES (9223372036854775000, 'far away')",
        "UPDATE NVTX_EVENTS SET text = x'ff00fe' WHERE rowid = 1",
        "UPDATE TARGET_INFO_GPU SET smCount = 'many', clockRate = 1e999, name = NULL",
    ):
        con.execute(q)
    con.commit()
    con.close()
    monkeypatch.setenv("ROOFLENS_NATIVE", "1")
    native = read_nsys_sqlite(p)
    monkeypatch.setenv("ROOFLENS_NATIVE", "0")
    python = read_nsys_sqlite(p)
    assert_same_trace(native, python)
    native.self_check()
    assert len(native.kernels) == 39 - 2  # end NULL (0) and start 1.5e300 are impossible
    assert native.gpus[0].sm_count is None and native.gpus[0].clock_hz is None
    assert "<unknown>" in {native.strings[i] for i in native.kernels.name_id.tolist()}
    assert native.kernels.block[:, 0].tolist().count(12) == 1  # blob "12" → 12, as SQLite reads it


def test_page_corrupted_sqlite_is_reported(tmp_path: Path, reader_backend: str) -> None:
    raw = bytearray((DECODE4 / "timeline.sqlite").read_bytes())
    page = 4096
    raw[20 * page : 21 * page] = bytes(range(256)) * (page // 256)
    p = tmp_path / "pages.sqlite"
    p.write_bytes(bytes(raw))
    try:
        t = read_nsys_sqlite(p)
    except InputError as exc:
        assert "quick_check" in str(exc)
    else:
        assert any(w.startswith("SQLite quick_check reports damage") for w in t.warnings)


def test_truncated_sqlite_says_how_many_pages_are_missing(tmp_path: Path) -> None:
    raw = (DECODE4 / "timeline.sqlite").read_bytes()
    p = tmp_path / "cut.sqlite"
    p.write_bytes(raw[: len(raw) - 10 * 4096])
    with pytest.raises(InputError, match=r"105 of 115 pages present"):
        read_nsys_sqlite(p)


def test_untouched_fixtures_have_no_warnings() -> None:
    """The checks never cry wolf on a whole capture."""
    for path in sorted(FIX.glob("*/timeline.sqlite")):
        t = read_nsys_sqlite(path)
        assert not [w for w in t.warnings if "dropped" in w or "SQLite" in w], (path, t.warnings)
    for path in sorted(FIX.glob("*/kernels*.csv")):
        assert not read_ncu_csv(path).warnings, path


# ----------------------------------------------------------------------------- special files


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this OS")
def test_fifo_named_sqlite_does_not_block(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.sqlite"
    os.mkfifo(fifo)
    proc = subprocess.run(
        [sys.executable, "-c", "import sys; from rooflens.cli import main; main(sys.argv[1:])",
         "analyze", str(fifo)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "is not a regular file (a FIFO)" in lines[0]


def test_damaged_schema_error_is_one_line(tmp_path: Path, reader_backend: str) -> None:
    """SQLite quotes a damaged CREATE statement, newlines and all (found by the fuzz script)."""
    p = tmp_path / "schema.sqlite"
    p.write_bytes((DECODE4 / "timeline.sqlite").read_bytes())
    con = sqlite3.connect(p)
    con.execute("PRAGMA writable_schema = ON")
    con.execute(
        "UPDATE sqlite_master SET sql = 'CREATE TABLE CUPTI_ACTIVITY_KIND_MEMCPY (a INTEGER,"
        "   -- a comment\n    b INTEGER, \"unterminated\n   c INTEGER\n)' "
        "WHERE name = 'CUPTI_ACTIVITY_KIND_MEMCPY'"
    )
    con.commit()
    con.close()
    with pytest.raises(InputError) as exc:
        read_nsys_sqlite(p)
    assert "\n" not in str(exc.value) and "malformed database schema" in str(exc.value)


def test_busy_time_of_a_trace_spanning_a_century_does_not_wrap() -> None:
    """Four runs 1e9 s apart (the span a corrupt clock can give, within the readers' limits):
    the integer-nanosecond running maximum must not overflow int64 (by hand: each run has two
    1 s kernels 1 s apart, so 2 s busy and a 1 s gap not explained by a launch)."""
    from rooflens.traces.intervals import segment_gaps

    seg = np.repeat(np.arange(4), 2)
    start = np.repeat(np.arange(4) * 1e9, 2) + np.tile([0.0, 2.0], 4)
    g = segment_gaps(seg, start, start + 1.0, np.full(8, np.nan))
    np.testing.assert_allclose(g.busy, [2.0] * 4)
    np.testing.assert_allclose(g.other_gap, [1.0] * 4)
    assert g.host_gap.tolist() == [0.0] * 4


def test_short_kineto_kernel_at_an_epoch_timestamp_is_kept(tmp_path: Path) -> None:
    """At ts ~1.7e15 us float64 steps by 0.25 us, so ts + 0.1 == ts: a 0.1 us kernel is still
    a kernel (its length is judged on dur, not on the rounded end)."""
    ts = 1.7e15
    assert ts + 0.1 == ts
    ev = {"ph": "X", "cat": "kernel", "name": "k", "pid": 0, "tid": 7, "ts": ts, "dur": 0.1,
          "args": {"correlation": 1}}  # fmt: skip
    p = tmp_path / "t.json"
    p.write_text(json.dumps({"traceEvents": [ev]}))
    t = load_timeline(p)
    assert len(t.kernels) == 1 and not t.warnings
    np.testing.assert_allclose(t.kernels.end_s - t.kernels.start_s, [0.1e-6])


def test_kineto_brackets_that_do_not_match_are_not_json(
    tmp_path: Path, reader_backend: str
) -> None:
    """`[ ... }` inside the events array (found by the fuzz script: an IndexError before)."""
    p = tmp_path / "t.json"
    p.write_bytes(
        b'{"traceEvents": [[1}, {"ph": "X", "cat": "kernel", "name": "k", "ts": 1, "dur": 1}]}'
    )
    with pytest.raises(InputError, match="not valid JSON"):
        load_timeline(p)


def test_gzip_bomb_is_refused_before_it_is_allocated(tmp_path: Path) -> None:
    import gzip

    from rooflens.traces.kineto_json import _decompress

    p = tmp_path / "bomb.json.gz"
    p.write_bytes(gzip.compress(b'{"traceEvents": [' + b" " * (8 << 20) + b"]}"))
    with pytest.raises(InputError, match="decompresses to more than"):
        _decompress(p, limit=1 << 20)
    assert len(_decompress(p, limit=16 << 20)) == (8 << 20) + 19  # under the limit: whole


def test_corrupt_gzip_is_one_line_error(tmp_path: Path, reader_backend: str) -> None:
    import gzip

    raw = gzip.compress((PREFILL / "trace.json").read_bytes())
    p = tmp_path / "t.json.gz"
    p.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(InputError, match="corrupt gzip data"):
        load_timeline(p)
