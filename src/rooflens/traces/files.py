"""Checks every reader makes before parsing: the path exists, is a file, is not empty."""

from __future__ import annotations

from pathlib import Path

from rooflens.errors import InputError


def check_input_file(path: str | Path) -> Path:
    """``path`` as a :class:`Path` when it is a readable, non-empty file; else :class:`InputError`."""
    p = Path(path)
    if not p.exists():
        raise InputError(p, "no such file")
    if p.is_dir():
        raise InputError(p, "is a directory, not a profile file")
    try:
        size = p.stat().st_size
        with p.open("rb") as fh:
            fh.read(1)
    except OSError as exc:
        raise InputError(p, f"cannot be read ({exc.strerror or exc})") from exc
    if size == 0:
        raise InputError(p, "is empty")
    return p


def read_head(path: Path, n: int = 4096) -> bytes:
    """The first ``n`` bytes of ``path`` (for content sniffing)."""
    with path.open("rb") as fh:
        return fh.read(n)
