"""Nsight Systems report (``.nsys-rep``) → SQLite export → :class:`~rooflens.traces.model.Trace`.

A ``.nsys-rep`` is exported with ``nsys export --type sqlite``.  An existing ``X.sqlite`` next
to ``X.nsys-rep`` that is newer than the report is reused; otherwise the export goes next to the
report when that file does not exist yet, else into a temporary folder — a user's file is never
overwritten.  Without nsys the error says how to export by hand.
"""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

from rooflens.errors import InputError, ToolMissingError
from rooflens.traces.files import check_input_file
from rooflens.traces.model import Trace
from rooflens.traces.nsys_sqlite import read_nsys_sqlite


def export_command(nsys: str | Path, rep: Path, out: Path) -> list[str]:
    """The ``nsys export`` command line that writes ``out`` (SQLite) from ``rep`` — the one
    builder: this reader runs it on a user's .nsys-rep, ``rooflens profile`` on its capture
    (:mod:`rooflens.capture.nsys` re-exports it).  Never overwrites (nsys's default, said
    aloud: a user's file must survive)."""
    return [
        str(nsys),
        "export",
        "--type",
        "sqlite",
        "--force-overwrite",
        "false",
        "-o",
        str(out),
        str(rep),
    ]


def _run_export(rep: Path, out: Path) -> None:
    from rooflens.tools import find_tool, tool_env

    nsys = find_tool("nsys", required=False)
    if nsys is None:
        raise ToolMissingError(
            f"{rep}: reading .nsys-rep needs nsys (not found); export by hand with "
            f"`nsys export --type sqlite -o {rep.with_suffix('.sqlite')} {rep}` and pass the .sqlite file"
        )
    try:
        proc = subprocess.run(
            export_command(nsys, rep, out),
            env=tool_env(nsys),
            capture_output=True,
            text=True,
            timeout=3600,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise InputError(rep, f"nsys export failed ({exc})") from exc
    if proc.returncode != 0 or not out.exists():
        last = (proc.stderr or proc.stdout or "").strip().splitlines()[-1:] or ["no output"]
        raise InputError(rep, f"nsys export failed (exit {proc.returncode}): {last[0]}")


def read_nsys_rep(path: str | Path) -> Trace:
    """Export ``path`` to SQLite (reusing a fresh export next to it) and read it."""
    rep = check_input_file(path)
    beside = rep.with_suffix(".sqlite")
    if beside.exists() and beside.stat().st_mtime >= rep.stat().st_mtime:
        return read_nsys_sqlite(beside)
    if not beside.exists():
        try:
            _run_export(rep, beside)
            return read_nsys_sqlite(beside)
        except PermissionError:
            pass
    with tempfile.TemporaryDirectory(prefix="rooflens-nsys-") as tmp:
        out = Path(tmp) / beside.name
        _run_export(rep, out)
        trace = read_nsys_sqlite(out)
    trace.path = str(rep)
    return trace
