"""Gzip-compressed nsys SQLite exports (``.sqlite.gz``, how the accuracy captures are stored):
read as the plain export, named as the compressed file in errors and in the trace."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

from rooflens.errors import InputError
from rooflens.traces import load_timeline, nsys_sqlite, sniff
from rooflens.traces.nsys_sqlite import read_nsys_sqlite

REAL = Path(__file__).parents[1] / "fixtures" / "h200_llama3_8b_prefill" / "timeline.sqlite"


def _gz(src: bytes, dst: Path) -> Path:
    dst.write_bytes(gzip.compress(src))
    return dst


def test_a_compressed_real_export_reads_as_the_plain_one(tmp_path: Path) -> None:
    packed = _gz(REAL.read_bytes(), tmp_path / "timeline.sqlite.gz")
    assert sniff(packed) == "nsys-sqlite"
    plain, gz = read_nsys_sqlite(REAL), load_timeline(packed)
    assert len(gz.kernels.start_s) == len(plain.kernels.start_s) > 0
    np.testing.assert_array_equal(gz.kernels.start_s, plain.kernels.start_s)
    np.testing.assert_array_equal(gz.kernels.end_s, plain.kernels.end_s)
    assert len(gz.ranges.start_s) == len(plain.ranges.start_s)
    assert gz.path == str(packed)  # the file the user named, not the temporary copy


def test_a_compressed_json_is_still_a_kineto_trace(tmp_path: Path) -> None:
    assert sniff(_gz(b'{"traceEvents": []}', tmp_path / "trace.json.gz")) == "kineto"


def test_a_truncated_compressed_export_is_one_line_naming_it(tmp_path: Path) -> None:
    whole = gzip.compress(REAL.read_bytes())
    cut = tmp_path / "cut.sqlite.gz"
    cut.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(InputError) as exc:
        load_timeline(cut)
    msg = str(exc.value)
    assert msg.startswith(str(cut)) and "gzip" in msg and "\n" not in msg


def test_errors_inside_the_database_name_the_compressed_file(tmp_path: Path) -> None:
    import sqlite3

    db = tmp_path / "empty.sqlite"
    sqlite3.connect(db).execute("CREATE TABLE t (x)").connection.commit()
    packed = _gz(db.read_bytes(), tmp_path / "empty.sqlite.gz")
    with pytest.raises(InputError) as exc:
        load_timeline(packed)
    assert str(exc.value).startswith(str(packed)) and "CUPTI_ACTIVITY_KIND_KERNEL" in str(exc.value)


def test_an_export_larger_than_the_free_disk_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    packed = _gz(REAL.read_bytes(), tmp_path / "timeline.sqlite.gz")
    monkeypatch.setattr(nsys_sqlite, "_SPARE_BYTES", 1 << 62)  # no room left anywhere
    with pytest.raises(InputError) as exc:
        load_timeline(packed)
    assert "decompresses to more than" in str(exc.value) and "\n" not in str(exc.value)
