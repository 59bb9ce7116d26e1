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


# Tables of which an nsys export always has at least one; a file with none is not an nsys export.
_NSYS_TABLES = {
    "StringIds",
    "META_DATA_CAPTURE",
    "TARGET_INFO_SYSTEM_ENV",
    "CUPTI_ACTIVITY_KIND_KERNEL",
}
_NOT_YET = "value IS NOT ?"  # rows already redacted are neither rewritten nor counted


def _redact_tables(con: sqlite3.Connection, tables: set[str]) -> dict[str, int]:
    """Rewrite every identifying value not yet redacted; how many of each kind changed."""
    counts: dict[str, int] = {}
    if "META_DATA_CAPTURE" in tables:
        counts["environment/user/host rows"] = con.execute(
            "UPDATE META_DATA_CAPTURE SET value=? WHERE (name LIKE '%ENVIRONMENT%' "
            f"OR name LIKE '%HOSTNAME%' OR name LIKE '%USER%') AND {_NOT_YET}",
            (REDACTED, REDACTED),
        ).rowcount
    if "META_DATA_EXPORT" in tables:
        counts["export paths"] = con.execute(
            "UPDATE META_DATA_EXPORT SET value=? WHERE (value LIKE '/%' OR name LIKE '%ath%' "
            f"OR name LIKE '%ile%') AND {_NOT_YET}",
            (REDACTED, REDACTED),
        ).rowcount
    if "TARGET_INFO_SYSTEM_ENV" in tables:
        cols = _columns(con, "TARGET_INFO_SYSTEM_ENV")
        if "value" in cols and "name" in cols:
            counts["host entries"] = con.execute(
                "UPDATE TARGET_INFO_SYSTEM_ENV SET value=? WHERE name IN ('DeviceEnvironment',"
                f"'Hostname','HostName','hostname','UserName','Username') AND {_NOT_YET}",
                (REDACTED, REDACTED),
            ).rowcount
    if "StringIds" in tables:
        rows = con.execute("SELECT id, value FROM StringIds").fetchall()
        ids = [(REDACTED, i) for i, v in rows
               if isinstance(v, str) and v != REDACTED and _looks_like_environment(v)]  # fmt: skip
        con.executemany("UPDATE StringIds SET value=? WHERE id=?", ids)
        counts["environment strings"] = len(ids)
    return {kind: n for kind, n in counts.items() if n > 0}


def redact_counts(path: Path) -> dict[str, int]:
    """Redact ``path`` in place; how many values of each kind were really changed.

    An empty result means nothing was left to redact (an already-redacted export): the file is
    then not rewritten at all.  A file that is not an nsys SQLite export is an InputError.
    """
    try:
        con = sqlite3.connect(f"{path.absolute().as_uri()}?mode=rw", uri=True)
    except sqlite3.Error as exc:
        raise InputError(path, f"cannot open as SQLite ({exc})") from None
    try:
        try:
            tables = _tables(con)
        except sqlite3.DatabaseError as exc:
            raise InputError(path, f"not an SQLite database ({exc})") from None
        if not tables & _NSYS_TABLES:
            raise InputError(path, "not an nsys export (none of its tables); nothing redacted")
        try:
            with con:
                counts = _redact_tables(con, tables)
            if counts:
                con.execute("VACUUM")  # deleted text stays in free pages until the file is rebuilt
        except sqlite3.DatabaseError as exc:
            raise InputError(path, f"damaged SQLite ({exc}); nothing redacted") from None
    finally:
        con.close()
    return counts


def redact_nsys_sqlite(path: Path) -> int:
    """Redact ``path`` in place; returns how many values were replaced (0: nothing left to do)."""
    return sum(redact_counts(path).values())
