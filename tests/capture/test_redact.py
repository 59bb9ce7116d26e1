"""Redaction of nsys SQLite exports: environment, user and host leave the file, timings stay."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

FIX = Path(__file__).parents[1] / "fixtures" / "h200_llama3_8b_prefill" / "timeline.sqlite"
SECRET = "HF_TOKEN=hf_secret_value_0123456789"


def _plant_secrets(path: Path) -> None:
    con = sqlite3.connect(path)
    with con:
        con.execute(
            "INSERT INTO META_DATA_CAPTURE(name, value) VALUES ('PROCESS_0:ENVIRONMENT_VARIABLE', ?)",
            (SECRET,),
        )
        con.execute("UPDATE TARGET_INFO_SYSTEM_ENV SET value='gpu-host-42' WHERE name='Hostname'")
        con.execute(
            "INSERT INTO StringIds(id, value) VALUES (999999, ?)",
            (f"PATH=/usr/bin\x00{SECRET}\x00HOME=/root",),
        )
    con.close()


def test_redact_command_removes_planted_secrets_and_keeps_kernels(tmp_path: Path) -> None:
    db = tmp_path / "t.sqlite"
    shutil.copy(FIX, db)
    _plant_secrets(db)
    kernels_before = (
        sqlite3.connect(db)
        .execute("SELECT COUNT(*), SUM(end - start) FROM CUPTI_ACTIVITY_KIND_KERNEL")
        .fetchone()
    )
    r = subprocess.run(
        [sys.executable, "-m", "rooflens", "redact", str(db)], capture_output=True, text=True
    )
    assert r.returncode == 0, r.stderr
    raw = db.read_bytes()
    assert (
        b"hf_secret_value" not in raw and b"gpu-host-42" not in raw
    )  # VACUUM dropped the old pages
    con = sqlite3.connect(db)
    assert (
        con.execute("SELECT COUNT(*), SUM(end - start) FROM CUPTI_ACTIVITY_KIND_KERNEL").fetchone()
        == kernels_before
    )
    assert con.execute(
        "SELECT value FROM TARGET_INFO_SYSTEM_ENV WHERE name='Hostname'"
    ).fetchone() == ("[redacted by rooflens]",)


def test_redact_refuses_non_sqlite(tmp_path: Path) -> None:
    bad = tmp_path / "x.nsys-rep"
    bad.write_bytes(b"not sqlite at all")
    r = subprocess.run(
        [sys.executable, "-m", "rooflens", "redact", str(bad)], capture_output=True, text=True
    )
    assert r.returncode == 2 and "not an SQLite file" in r.stderr and "Traceback" not in r.stderr
    assert bad.read_bytes() == b"not sqlite at all"


def _redact(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "rooflens", "redact", str(path)], capture_output=True, text=True
    )


def test_redact_reports_what_it_changed_and_leaves_a_redacted_file_alone(tmp_path: Path) -> None:
    db = tmp_path / "t.sqlite"
    shutil.copy(FIX, db)  # a rooflens capture: already redacted when it was made
    _plant_secrets(db)  # one environment row, one host name, one environment block
    r = _redact(db)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == (
        f"{db}: redacted 1 environment/user/host rows, 1 host entries, 1 environment strings"
    )
    before = db.read_bytes()
    mtime = db.stat().st_mtime_ns
    r = _redact(db)
    assert r.returncode == 0, r.stderr
    assert "already redacted" in r.stdout and "redacted 1" not in r.stdout
    assert db.read_bytes() == before and db.stat().st_mtime_ns == mtime


def test_redact_refuses_an_sqlite_that_is_not_an_nsys_export(tmp_path: Path) -> None:
    db = tmp_path / "other.sqlite"
    con = sqlite3.connect(db)
    with con:
        con.execute("CREATE TABLE notes(name TEXT, value TEXT)")
        con.execute("INSERT INTO notes VALUES ('HOME', 'HF_TOKEN=abc')")
    con.close()
    before = db.read_bytes()
    r = _redact(db)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert (
        r.stderr.strip()
        == f"rooflens: {db}: not an nsys export (none of its tables); nothing redacted"
    )
    assert db.read_bytes() == before
