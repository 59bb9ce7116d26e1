"""Checks every reader makes before parsing: the path is a regular, readable, non-empty file.

Only regular files are opened: a FIFO, socket or device named ``*.sqlite`` would block a reader
forever (or stream without end), so it is refused from its ``stat`` alone, before any ``open``.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from rooflens.errors import InputError


def check_input_file(path: str | Path) -> Path:
    """``path`` as a :class:`Path` when it is a readable, non-empty regular file; else :class:`InputError`."""
    p = Path(path)
    try:
        st = os.stat(p)  # follows links: a link to a regular file is fine
    except FileNotFoundError:
        raise InputError(p, "no such file") from None
    except OSError as exc:
        raise InputError(p, f"cannot be read ({exc.strerror or exc})") from exc
    if stat.S_ISDIR(st.st_mode):
        raise InputError(p, "is a directory, not a profile file")
    if not stat.S_ISREG(st.st_mode):
        raise InputError(p, f"is not a regular file ({_kind(st.st_mode)}), not a profile file")
    try:
        with p.open("rb") as fh:
            fh.read(1)
    except OSError as exc:
        raise InputError(p, f"cannot be read ({exc.strerror or exc})") from exc
    if st.st_size == 0:
        raise InputError(p, "is empty")
    return p


def _kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a plain file"


def read_head(path: Path, n: int = 4096) -> bytes:
    """The first ``n`` bytes of ``path`` (for content sniffing)."""
    with path.open("rb") as fh:
        return fh.read(n)
