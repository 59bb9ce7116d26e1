"""Writing output files safely: one checked output folder, atomic replaces, no links followed.

Every command that writes files (``report``, ``predict --csv``) goes through here, so that an
``--out`` that is a file, lies under a file, cannot be written or has a name too long is one
line and exit 2, and ``--force`` never writes through a symbolic link to a file outside the
output folder: each file is written to a temporary name inside the folder and moved over the
old entry with ``os.replace``, which replaces the link itself, never its target.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

from rooflens.errors import InputError, os_problem


def prepare_out_dir(path: Path, option: str = "--out") -> Path:
    """Create ``path`` (and its parents) as a writable folder; one-line errors naming ``option``."""
    try:
        if os.path.lexists(path) and not path.is_dir():
            raise InputError(path, f"exists and is not a folder; choose another {option}")
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise os_problem(path, exc, "create the output folder") from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise InputError(path, "cannot write into the output folder: permission denied")
    return path


def taken(out_dir: Path, names: Iterable[str]) -> list[str]:
    """Which of ``names`` already have an entry in ``out_dir`` (a dangling link counts)."""
    return [name for name in names if os.path.lexists(out_dir / name)]


def replace_file(out_dir: Path, name: str, data: bytes | str) -> Path:
    """Write ``data`` to ``out_dir/name`` atomically, replacing any file or link of that name.

    A folder of that name is refused.  Readers never see a half-written file, and a link named
    ``name`` is replaced by a regular file rather than followed.
    """
    target = out_dir / name
    if target.is_dir() and not target.is_symlink():
        raise InputError(target, "is a folder; cannot replace it with a file")
    raw = data.encode("utf-8") if isinstance(data, str) else data
    try:
        fd, tmp = tempfile.mkstemp(dir=out_dir, prefix=".rooflens-", suffix=".tmp")
    except OSError as exc:
        raise os_problem(target, exc, "write") from None
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(raw)
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise os_problem(target, exc, "write") from None
    return target


def move_in(out_dir: Path, files: Iterable[Path]) -> list[Path]:
    """Move files written elsewhere in the same file system into ``out_dir`` with ``os.replace``."""
    moved = []
    for src in files:
        target = out_dir / src.name
        if target.is_dir() and not target.is_symlink():
            raise InputError(target, "is a folder; cannot replace it with a file")
        try:
            os.replace(src, target)
        except OSError as exc:
            raise os_problem(target, exc, "write") from None
        moved.append(target)
    return moved
