"""rooflens's sitecustomize: annotate a PyTorch program for ``rooflens profile -- CMD``.

``rooflens profile`` puts this folder first on ``PYTHONPATH``; Python imports this file at
start-up.  It first runs any other ``sitecustomize`` further down the path (a virtual
environment's or a distribution's own), then arms :mod:`_rooflens_annotate`'s import hook, which
does nothing until the program imports ``torch`` itself.  Any failure here is printed on stderr
and the program runs unannotated.
"""

from __future__ import annotations

import importlib
import os
import sys


def _chain() -> None:
    """Import the next ``sitecustomize`` on the path, as if this one were not there."""
    here = os.path.dirname(os.path.abspath(__file__))
    saved = list(sys.path)
    mine = sys.modules.pop("sitecustomize", None)
    try:
        sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != here]
        importlib.import_module("sitecustomize")
    except ImportError:
        pass
    finally:
        sys.path[:] = saved
        if mine is not None:
            sys.modules["sitecustomize"] = mine


try:
    _chain()
except Exception as _exc:  # the other sitecustomize failed: say so, carry on as Python would
    print(f"rooflens annotate: the next sitecustomize failed: {_exc}", file=sys.stderr)
try:
    import _rooflens_annotate_install

    _rooflens_annotate_install.install()
except Exception as _exc:
    print(f"rooflens annotate: not installed: {_exc}", file=sys.stderr)
