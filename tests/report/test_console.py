"""Console renderings (rooflens.report.console): the analyze tables read the typed document."""

from __future__ import annotations

from io import StringIO
from pathlib import Path

from rich.console import Console

from rooflens.pipeline import measure
from rooflens.report.console import print_analysis
from rooflens.report_model import as_document

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "h200_llama3_8b_decode16_eager"


def _text(doc: object) -> str:
    out = StringIO()
    print_analysis(doc, Console(file=out, width=80, markup=False, highlight=False))  # type: ignore[arg-type]
    return out.getvalue()


def test_analysis_tables_from_the_typed_document() -> None:
    raw = measure([FIX / "timeline.sqlite"], None, None)
    typed = _text(as_document(raw))
    assert typed == _text(raw)  # a measure() dict is converted at the entry, same tables
    tl = raw["timeline"]
    assert f"Kernels of {tl['chosen_run']}" in typed
    # Every kernel of the chosen run has its row, numbered from 1 (fewer than the elision limit).
    last = len(tl["kernels"])
    assert last < 2000 and any(line.split()[:1] == [str(last)] for line in typed.splitlines())
    assert all(len(line) <= 80 for line in typed.splitlines())
