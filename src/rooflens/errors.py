"""Errors that the CLI turns into one line on stderr and exit code 2.

Anything raised as :class:`RooflensError` is the user's input or environment being wrong
(a missing file, a malformed config, an unknown GPU).  Its message must be a single line
that names the offending thing and, where possible, what to do about it.
"""

from __future__ import annotations

from pathlib import Path


class RooflensError(Exception):
    """A problem the user can fix; the CLI prints ``rooflens: <message>`` and exits 2."""

    exit_code = 2


class InputError(RooflensError):
    """An input file that cannot be used: missing, unreadable, or of the wrong kind."""

    def __init__(self, path: str | Path, problem: str) -> None:
        self.path = Path(path)
        self.problem = problem
        super().__init__(f"{path}: {problem}")


class ToolMissingError(RooflensError):
    """An external tool (nsys, ncu, a Python extra) is not installed; the message says how to get it."""


class InternalError(RooflensError):
    """rooflens itself is wrong (a report that breaks its own invariants): a bug, not bad input.

    Reported in one line like every error, with exit code 3 so scripts can tell it apart.
    """

    exit_code = 3


def os_problem(path: str | Path, exc: OSError, doing: str) -> InputError:
    """An :class:`InputError` for an ``OSError`` met while ``doing`` something with ``path``.

    Names the cause in words (permission denied, name too long, a parent is a file) rather than
    the exception class, so that output-path mistakes read as one line like every other input.
    """
    reason = exc.strerror or str(exc)
    if isinstance(exc, NotADirectoryError):
        reason = "a component of the path is a file, not a folder"
    elif isinstance(exc, FileExistsError):
        reason = "exists and is not a folder"
    return InputError(path, f"cannot {doing}: {reason}")
