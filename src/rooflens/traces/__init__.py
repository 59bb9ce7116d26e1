"""Trace readers: one module per input format, each returning plain data in SI units.

:func:`load_timeline` (nsys SQLite / ``.nsys-rep`` / Kineto JSON → :class:`Trace`) and
:func:`load_ncu` (``.ncu-rep`` / raw-page CSV → :class:`NcuKernels`) pick the reader by the
file's content, not only its name, and say clearly when a file is none of these.
"""

from __future__ import annotations

from pathlib import Path

from rooflens.errors import InputError
from rooflens.traces.files import check_input_file, read_head
from rooflens.traces.model import GpuInfo, NcuKernel, NcuKernels, RuleResult, StringTable, Trace

__all__ = [
    "GpuInfo",
    "NcuKernel",
    "NcuKernels",
    "RuleResult",
    "StringTable",
    "Trace",
    "load_ncu",
    "load_timeline",
    "sniff",
]

_SQLITE = b"SQLite format 3\x00"
_GZIP = b"\x1f\x8b"


def sniff(path: str | Path) -> str:
    """The format of ``path``: ``nsys-sqlite``, ``nsys-rep``, ``kineto``, ``ncu-rep``, ``ncu-csv``.

    Raises :class:`InputError` for a missing/empty file or one of no known format.
    """
    p = check_input_file(path)
    head = read_head(p, 65536)
    suffix = p.suffix.lower()
    if head.startswith(_SQLITE):
        return "nsys-sqlite"
    if head.startswith(_GZIP):
        from rooflens.traces.nsys_sqlite import gzipped_sqlite

        if gzipped_sqlite(p):
            return "nsys-sqlite"
    if suffix == ".nsys-rep" or suffix == ".qdrep":
        return "nsys-rep"
    if suffix == ".ncu-rep":
        return "ncu-rep"
    text = head.lstrip(b"\xef\xbb\xbf").lstrip()
    if text.startswith(b"{") or head.startswith(_GZIP):
        return "kineto"
    if b'"ID"' in head and (b'"Kernel Name"' in head or b"__" in head):
        return "ncu-csv"
    if suffix == ".csv":
        return "ncu-csv"  # the CSV reader names the exact problem
    if suffix == ".json":
        return "kineto"
    raise InputError(
        p,
        "unknown profile format (expected an nsys .sqlite/.nsys-rep, a PyTorch profiler .json, "
        "an .ncu-rep or an `ncu --csv --page raw` export)",
    )


def load_timeline(path: str | Path) -> Trace:
    """Read a timeline source (nsys SQLite, ``.nsys-rep`` or Kineto JSON) into a :class:`Trace`."""
    kind = sniff(path)
    if kind == "nsys-sqlite":
        from rooflens.traces.nsys_sqlite import read_nsys_sqlite

        return read_nsys_sqlite(path)
    if kind == "nsys-rep":
        from rooflens.traces.nsys_rep import read_nsys_rep

        return read_nsys_rep(path)
    if kind == "kineto":
        from rooflens.traces.kineto_json import read_kineto_json

        return read_kineto_json(path)
    raise InputError(path, f"is an {kind} file, not a timeline (nsys or PyTorch profiler)")


def load_ncu(path: str | Path) -> NcuKernels:
    """Read Nsight Compute data (``.ncu-rep`` or raw-page CSV) into :class:`NcuKernels`."""
    kind = sniff(path)
    if kind == "ncu-rep":
        from rooflens.traces.ncu_report import read_ncu_report

        return read_ncu_report(path)
    if kind == "ncu-csv":
        from rooflens.traces.ncu_csv import read_ncu_csv

        return read_ncu_csv(path)
    raise InputError(path, f"is an {kind} file, not Nsight Compute data")
