"""Progress for the long steps of a command: a spinner naming the step, on stderr.

Reading a multi-gigabyte trace takes seconds to minutes; a user should see what is happening.
Only on a terminal: piped or captured stderr stays clean (errors there are one line).
"""

from __future__ import annotations

import sys
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path

from rich.console import Console

from rooflens.units import fmt_bytes


def step(text: str) -> AbstractContextManager[object]:
    """Context manager showing ``text`` with a spinner while the block runs (terminal only)."""
    if not sys.stderr.isatty():
        return nullcontext()
    return Console(stderr=True).status(text)


def reading(path: Path) -> AbstractContextManager[object]:
    """The step of reading ``path``, with its size."""
    try:
        size = f" ({fmt_bytes(float(path.stat().st_size))})"
    except OSError:
        size = ""
    return step(f"reading {path.name}{size}…")
