"""Trim a run folder for committing: keep only the chosen run's rows in the nsys SQLite.

A whole-model capture's timeline holds every run (warm-up included) and is tens of MB; the
report uses only the chosen run (the last ``Run[j]``).  This deletes kernels, runtime calls,
memory copies and NVTX ranges that end before that run starts, vacuums the file, drops the
``.nsys-rep`` (it holds the environment) and the ``.ncu-rep`` when CSV exports exist, and
records what was done in ``manifest.json`` under ``trimmed``.

    python scripts/trim_capture.py RUN_DIR
"""

from __future__ import annotations

import json
import re
import sqlite3
import sys
from pathlib import Path

TABLES = {  # table → its start column
    "CUPTI_ACTIVITY_KIND_KERNEL": "start",
    "CUPTI_ACTIVITY_KIND_RUNTIME": "start",
    "CUPTI_ACTIVITY_KIND_MEMCPY": "start",
    "CUPTI_ACTIVITY_KIND_MEMSET": "start",
    "NVTX_EVENTS": "start",
}


def last_run_start(con: sqlite3.Connection) -> tuple[str, int]:
    """Name and start (ns) of the last ``Run[j]`` range."""
    rows = con.execute(
        "SELECT COALESCE(e.text, s.value), e.start FROM NVTX_EVENTS e "
        "LEFT JOIN StringIds s ON e.textId = s.id WHERE e.end IS NOT NULL"
    ).fetchall()
    runs = [(t, st) for t, st in rows if t and re.fullmatch(r"Run\[\d+\]", t)]
    if not runs:
        raise SystemExit("no Run[j] range: nothing to trim by")
    return max(runs, key=lambda r: r[1])


def main() -> None:
    run_dir = Path(sys.argv[1])
    db = run_dir / "timeline.sqlite"
    con = sqlite3.connect(db)
    name, start = last_run_start(con)
    tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    removed = {}
    for table, col in TABLES.items():
        if table in tables:
            cur = con.execute(f"DELETE FROM {table} WHERE {col} < ?", (start,))
            removed[table] = cur.rowcount
    con.commit()
    con.execute("VACUUM")
    con.close()
    dropped = []
    for f in [
        run_dir / "timeline.nsys-rep",
        *(run_dir.glob("*.ncu-rep") if (run_dir / "kernels.csv").exists() else []),
    ]:
        if f.exists():
            f.unlink()
            dropped.append(f.name)
    manifest_path = run_dir / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["trimmed"] = {
        "kept_run": name,
        "rows_removed": removed,
        "files_removed": dropped,
        "why": "committed as a fixture: only the chosen run's rows are kept (scripts/trim_capture.py)",
    }
    manifest_path.write_text(json.dumps(manifest, indent=2))
    print(
        f"{run_dir}: kept {name}; removed {removed}; dropped {dropped}; {db.stat().st_size / 1e6:.1f} MB"
    )


if __name__ == "__main__":
    main()
