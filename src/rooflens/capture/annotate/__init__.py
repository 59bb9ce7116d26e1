"""Capture-time annotation of foreign Python programs (docs/capture.md, "Programs rooflens did not write").

:func:`annotation_env` returns the environment a profiled program runs under: this folder first on
``PYTHONPATH`` so that its ``sitecustomize.py`` loads :mod:`_rooflens_annotate` into the program.
The module → operator table is data (``modules.toml``).
"""

from __future__ import annotations

import os
from pathlib import Path

ANNOTATE_DIR = Path(__file__).resolve().parent
TABLE_PATH = ANNOTATE_DIR / "modules.toml"


def annotation_env(env: dict[str, str] | None = None) -> dict[str, str]:
    """``env`` (default: this process's) with the annotation folder first on ``PYTHONPATH``."""
    out = dict(os.environ if env is None else env)
    rest = [p for p in out.get("PYTHONPATH", "").split(os.pathsep) if p and p != str(ANNOTATE_DIR)]
    out["PYTHONPATH"] = os.pathsep.join([str(ANNOTATE_DIR), *rest])
    out.setdefault("ROOFLENS_ANNOTATE", "1")
    return out
