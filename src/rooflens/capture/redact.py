"""Remove the profiled process's environment and host details from an nsys SQLite export.

nsys stores the whole environment of the profiled process (tokens and keys live there) and
local paths: ``META_DATA_CAPTURE`` rows named ``…ENVIRONMENT…``, a NUL-joined environment block
in ``StringIds``, ``TARGET_INFO_SYSTEM_ENV`` (DeviceEnvironment, Hostname), and output paths in
``META_DATA_EXPORT`` (GPU.md).  Redaction rewrites those values and then ``VACUUM``s, because
SQLite keeps deleted text in free pages until the file is rebuilt.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from rooflens.errors import InputError

REDACTED = "[redacted by rooflens]"


def _tables(con: sqlite3.Connection) -> set[str]:
    return {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}


def _columns(con: sqlite3.Connection, table: str) -> list[str]:
    return [r[1] for r in con.execute(f'PRAGMA table_info("{table}")')]


def _looks_like_environment(text: str) -> bool:
    """A NUL-joined ``KEY=value`` block, or a single ``KEY=value`` string of an env-var shape."""
    if "\x00" in text and "=" in text:
        return True
    head, sep, _ = text.partition("=")
    return bool(sep) and head.isupper() and head.replace("_", "").isalnum() and len(head) > 1


def redact_nsys_sqlite(path: Path) -> int:
    """Redact ``path`` in place; returns how many values were replaced."""
    try:
        con = sqlite3.connect(path)
        tables = _tables(con)
    except sqlite3.DatabaseError as exc:
        raise InputError(path, f"not an SQLite database ({exc})") from None
    n = 0
    with con:
        if "META_DATA_CAPTURE" in tables:
            n += con.execute(
                "UPDATE META_DATA_CAPTURE SET value=? WHERE name LIKE '%ENVIRONMENT%' "
                "OR name LIKE '%HOSTNAME%' OR name LIKE '%USER%'",
                (REDACTED,),
            ).rowcount
        if "META_DATA_EXPORT" in tables:
            n += con.execute(
                "UPDATE META_DATA_EXPORT SET value=? WHERE value LIKE '/%' OR name LIKE '%ath%' "
                "OR name LIKE '%ile%'",
                (REDACTED,),
            ).rowcount
        if "TARGET_INFO_SYSTEM_ENV" in tables:
            cols = _columns(con, "TARGET_INFO_SYSTEM_ENV")
            if "value" in cols and "name" in cols:
                n += con.execute(
                    "UPDATE TARGET_INFO_SYSTEM_ENV SET value=? WHERE name IN "
                    "('DeviceEnvironment','Hostname','HostName','hostname','UserName','Username')",
                    (REDACTED,),
                ).rowcount
        if "StringIds" in tables:
            rows = con.execute("SELECT id, value FROM StringIds").fetchall()
            ids = [
                (REDACTED, i) for i, v in rows if isinstance(v, str) and _looks_like_environment(v)
            ]
            con.executemany("UPDATE StringIds SET value=? WHERE id=?", ids)
            n += len(ids)
    con.execute("VACUUM")
    con.close()
    return n
