"""Bad input through the CLI: one line naming the file and the problem, exit code 2, no traceback."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import orjson
import pytest

from rooflens.cli import main

from .synth import K, R, Synth, analyze_ok, write_kineto, write_nsys


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    with pytest.raises(SystemExit) as exc:
        main(["analyze", *args])
    err = capsys.readouterr().err
    assert exc.value.code == 2, err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("rooflens: "), err
    return lines[0]


def _good_sqlite(tmp_path: Path) -> Path:
    syn = Synth(kernels=[K(f"kernel_{i}", 1000 * i, 1000 * i + 500, i, 1000 * i - 100) for i in range(1, 400)],
                ranges=[R("Run[0]", 0, 500_000)])  # fmt: skip
    return write_nsys(tmp_path / "good.sqlite", syn)


def test_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    line = _run(capsys, str(tmp_path / "nope.sqlite"))
    assert "nope.sqlite" in line and "no such file" in line


def test_directory(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert "is a directory" in _run(capsys, str(tmp_path))


def test_empty_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    p = tmp_path / "empty.json"
    p.write_bytes(b"")
    assert "empty.json: is empty" in _run(capsys, str(p))


def test_binary_garbage(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    p = tmp_path / "garbage.bin"
    p.write_bytes(bytes(range(256)) * 40)
    assert "unknown profile format" in _run(capsys, str(p))


def test_truncated_sqlite(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], reader_backend: str
) -> None:
    good = _good_sqlite(tmp_path).read_bytes()
    p = tmp_path / "trunc.sqlite"
    p.write_bytes(good[: len(good) // 3])
    line = _run(capsys, str(p))
    assert "trunc.sqlite" in line and ("corrupt" in line or "truncated" in line)


def test_corrupt_sqlite(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], reader_backend: str
) -> None:
    raw = bytearray(_good_sqlite(tmp_path).read_bytes())
    raw[100:4096] = b"\xff" * (4096 - 100)  # smash the schema page
    p = tmp_path / "corrupt.sqlite"
    p.write_bytes(bytes(raw))
    assert "corrupt.sqlite" in _run(capsys, str(p))


def test_sqlite_without_kernel_table(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], reader_backend: str
) -> None:
    p = tmp_path / "nokernels.sqlite"
    con = sqlite3.connect(p)
    con.execute("CREATE TABLE StringIds (id INTEGER PRIMARY KEY, value TEXT)")
    con.commit()
    con.close()
    assert "no CUPTI_ACTIVITY_KIND_KERNEL table" in _run(capsys, str(p))


def test_json_not_kineto(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], reader_backend: str
) -> None:
    p = tmp_path / "config.json"
    p.write_bytes(orjson.dumps({"hidden_size": 4096}))
    assert "not a PyTorch profiler (Kineto) trace" in _run(capsys, str(p))


def test_non_utf8_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], reader_backend: str
) -> None:
    p = tmp_path / "latin1.json"
    p.write_bytes(
        b'{"traceEvents": [{"ph": "X", "cat": "kernel", "name": "k\xe9rnel", "ts": 1, "dur": 1}]}'
    )
    assert "latin1.json: not valid JSON" in _run(capsys, str(p))


def test_ncu_csv_from_another_page(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    p = tmp_path / "details.csv"
    p.write_text(
        '"ID","Kernel Name","Section Name","Metric Name","Metric Unit","Metric Value"\n"0","k","S","M","u","1"\n'
    )
    assert "details page" in _run(capsys, str(p))


def test_non_utf8_csv(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    p = tmp_path / "raw.csv"
    p.write_bytes(b'"ID","Kernel Name"\n"0","k\xe9"\n')
    assert "not UTF-8" in _run(capsys, str(p))


def test_two_timelines(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a = _good_sqlite(tmp_path)
    assert "second timeline source" in _run(capsys, str(a), str(a))


def test_unknown_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert "no NVTX range" in _run(capsys, str(_good_sqlite(tmp_path)), "--run", "Run[9]")


def test_non_utf8_and_very_long_names_are_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], reader_backend: str
) -> None:
    long = "void " + "k" * 200_000 + "<int>(int)"
    p = write_nsys(
        tmp_path / "long.sqlite", Synth(kernels=[K(long, 10, 20, 1, 5), K("b", 30, 40, 2, 25)])
    )
    con = sqlite3.connect(p)
    con.execute(
        "UPDATE StringIds SET value = CAST(X'6BE9726E656C' AS TEXT) WHERE value = 'b'"
    )  # "k\xe9rnel"
    con.commit()
    con.close()
    main_out = analyze_ok(capsys, str(p))
    assert "k\ufffdrnel" in main_out  # replacement character, not a crash
    long_k = write_kineto(tmp_path / "long.json", Synth(kernels=[K(long, 10, 20, 1, 5)]))
    assert "…" in analyze_ok(capsys, str(long_k))  # clipped in the table
