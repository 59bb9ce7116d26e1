"""The predict tables fit an 80-column terminal without clipping a value."""

from __future__ import annotations

import pytest
from rich.console import Console

from rooflens.hardware import lookup
from rooflens.model import load_architecture
from rooflens.predict import Precision, Workload, predict
from rooflens.report.console import operator_table, phase_table


@pytest.mark.parametrize("model", ["llama-3-8b", "deepseek-v3", "qwen3-30b-a3b"])
def test_tables_fit_80_columns(model: str) -> None:
    wl = Workload(precision=Precision.parse("W16A16KV16"), batch=8, input_len=2048, output_len=512)
    pred = predict(load_architecture(model), lookup("H200"), wl)
    console = Console(width=80, record=True, file=None, force_terminal=False)
    with console.capture():
        console.print(phase_table(pred))
        console.print(operator_table(pred, "prefill"))
    text = console.export_text()
    rows = [ln for ln in text.splitlines() if ln.strip()]
    assert all(len(ln) <= 80 for ln in rows)
    body = [ln for ln in rows if "·" not in ln]  # the title may wrap; cells must not clip
    assert not any("…" in ln for ln in body), text
