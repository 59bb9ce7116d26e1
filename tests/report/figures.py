"""Reading figures back out of rendered reports, written independently of rooflens.units.

A figure is a number followed by a unit (``0.708 ms``, ``3.35 TB/s``, ``81.3%``, ``1.77×``);
:func:`to_si` turns one back into the SI value report.json holds, so tests can check that the
Markdown, the HTML and the JSON say the same thing.
"""

from __future__ import annotations

import re

_PREFIX = {"": 1.0, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "P": 1e15}
_TIME = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}
FIGURE = re.compile(
    r"(?<![\w.])([-+]?\d+(?:\.\d+)?(?:e[-+]?\d+)?)\s?"
    r"(%|×|[kMGTP]?FLOP/s|[kMGTP]?FLOP/B|FLOP/B|[kMGTP]?FLOP|[kMGTP]?B/s|[kMGTP]?B|ns|us|ms|s)(?![\w/])"
)
CODE_SPAN = re.compile(r"(`+)(.+?)\1")


def to_si(number: str, unit: str) -> float:
    """``("0.708", "ms")`` → 0.000708; ``("81.3", "%")`` → 81.3 (percent stays percent)."""
    x = float(number)
    if unit in _TIME:
        return x * _TIME[unit]
    if unit in ("%", "×", "FLOP/B"):
        return x
    for base in ("FLOP/s", "FLOP", "B/s", "B"):
        if unit.endswith(base):
            return x * _PREFIX[unit[: -len(base)]]
    raise ValueError(unit)


def parse(text: str) -> float:
    """The single figure in ``text`` as an SI value."""
    m = FIGURE.search(text)
    assert m, f"no figure in {text!r}"
    return to_si(m.group(1), m.group(2))


def figures(text: str) -> list[str]:
    """Every figure in ``text`` outside code spans (names), as normalised ``number unit`` strings."""
    plain = CODE_SPAN.sub(" ", text)
    return [f"{m.group(1)} {m.group(2)}" for m in FIGURE.finditer(plain)]


def close(shown: float, exact: float) -> bool:
    """Whether a 3-significant-figure rendering ``shown`` is ``exact`` rounded (0.5 % slack)."""
    if exact == 0:
        return shown == 0
    return abs(shown - exact) <= 5e-3 * abs(exact) + 1e-30
