"""Nsight Systems command lines: a lean timeline capture and its SQLite export.

``-t cuda,nvtx -s none --cpuctxsw=none`` keeps captures small (without them the raw ``.qdstrm``
of a 13 s program was 2.5 GB, GPU.md).  When nsys leaves only ``X.qdstrm`` (its importer could
not load), :func:`importer_path` finds ``QdstrmImporter`` next to it to finish the job.
"""

from __future__ import annotations

from pathlib import Path

# The SQLite export's argv has one home, beside the reader that runs it on a .nsys-rep
# (readers never import capture; capture may import traces).
from rooflens.traces.nsys_rep import export_command

__all__ = ["export_command", "importer_command", "importer_path", "profile_command"]


def profile_command(
    nsys: Path, out_base: Path, program: list[str], extra: list[str] | None = None
) -> list[str]:
    """``nsys profile`` argv writing ``out_base.nsys-rep`` (never overwriting: the folder is new)."""
    return [
        str(nsys),
        "profile",
        "-t",
        "cuda,nvtx",
        "-s",
        "none",
        "--cpuctxsw=none",
        "--cuda-graph-trace=node",
        "-o",
        str(out_base),
        "-f",
        "false",
        *(extra or []),
        *program,
    ]


def importer_path(nsys: Path) -> Path | None:
    """``QdstrmImporter`` of the same install (sibling ``host/linux-desktop-*`` folders), if any."""
    root = nsys.resolve().parent
    for base in (root, root.parent):
        for cand in sorted(base.glob("*/QdstrmImporter")) + sorted(base.glob("QdstrmImporter")):
            if cand.is_file():
                return cand
    return None


def importer_command(importer: Path, qdstrm: Path) -> list[str]:
    """``QdstrmImporter -i X.qdstrm`` argv (writes ``X.nsys-rep`` beside it)."""
    return [str(importer), "-i", str(qdstrm)]
