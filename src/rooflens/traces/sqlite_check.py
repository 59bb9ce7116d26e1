"""Damage checks of an SQLite file before rows are trusted: truncation and SQLite's ``quick_check``.

A truncated or page-corrupted export can still answer queries, with rows missing.  Two checks
turn that into a warning the user sees:

* the header's page count (valid when its "version-valid-for" field equals the change counter)
  times the page size against the file size: a shorter file lost its tail (free, one read);
* ``PRAGMA quick_check(1)``, SQLite's own b-tree check without the index cross-check.  It reads
  every page (about 0.3 s per 100 MB on the dev machine's 2-core VM), so it runs only on files
  up to :data:`QUICK_CHECK_MAX_BYTES`; a larger file is checked when a query fails.
"""

from __future__ import annotations

import sqlite3
import struct
from pathlib import Path

#: Files up to this size get a full ``quick_check`` on every read.
QUICK_CHECK_MAX_BYTES = 256 << 20


def truncation(path: Path) -> str | None:
    """A warning when the file is shorter than its header says, else ``None``."""
    with path.open("rb") as fh:
        head = fh.read(100)
        fh.seek(0, 2)
        size = fh.tell()
    if len(head) < 100:
        return f"SQLite file is truncated: {size} bytes, shorter than its 100-byte header"
    (page_size,) = struct.unpack_from(">H", head, 16)
    page_size = 65536 if page_size == 1 else page_size
    change, pages, valid_for = (struct.unpack_from(">I", head, off)[0] for off in (24, 28, 92))
    if pages == 0 or valid_for != change or page_size < 512:
        return None  # the header's page count is not maintained: nothing to compare
    want = pages * page_size
    if size < want:
        return (
            f"SQLite file is truncated: {size // page_size} of {pages} pages present "
            f"({size} of {want} bytes); rows on the missing pages are lost"
        )
    return None


def one_line(text: object, limit: int = 200) -> str:
    """``text`` on one line, clipped: SQLite quotes a damaged schema's SQL, newlines and all."""
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def quick_check(con: sqlite3.Connection) -> str | None:
    """SQLite's first ``quick_check`` complaint (``None`` when it says ``ok``)."""
    try:
        rows = con.execute("PRAGMA quick_check(1)").fetchall()
    except sqlite3.DatabaseError as exc:
        return one_line(exc)
    first = str(rows[0][0]) if rows else "no answer"
    return None if first == "ok" else one_line(first)


def damage_warnings(path: Path, con: sqlite3.Connection) -> list[str]:
    """Warnings for a truncated file and a failed ``quick_check`` (cheap: see the module docstring)."""
    out: list[str] = []
    cut = truncation(path)
    if cut:
        out.append(cut)
    if path.stat().st_size <= QUICK_CHECK_MAX_BYTES:
        bad = quick_check(con)
        if bad:
            out.append(
                f"SQLite quick_check reports damage ({bad}): rows may be missing from the capture"
            )
    return out
