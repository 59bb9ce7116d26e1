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
