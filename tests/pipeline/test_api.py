"""The Python API returns the numbers `rooflens report` writes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

import rooflens

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "h200_llama3_8b_decode16_eager"


def _strip(doc: dict) -> dict:
    return {k: v for k, v in doc.items() if k != "generated_at"}


def test_analyze_matches_the_report_command(tmp_path: Path, cli: Any) -> None:
    code, output = cli(["report", str(FIX), "--lang", "en", "--out", str(tmp_path / "r")])
    assert code == 0, output
    written = orjson.loads((tmp_path / "r" / "report.json").read_bytes())
    rep = rooflens.analyze(FIX)
    assert _strip(orjson.loads(orjson.dumps(rep.doc))) == _strip(written)
    ops = rep.operators
    assert ops and {o.phase for o in ops} == {"prefill", "decode"}
    row = next(o for o in ops if o.name == "lm_head" and o.phase == "decode")
    src = next(
        o
        for o in written["comparison"]["operators"]
        if o["name"] == "lm_head" and o["phase"] == "decode"
    )
    assert (
        row.measured_time_s == src["measured_time_s"]
        and row.kernel_count == src["kernel_count"] == 15
    )
    assert rooflens.load_report(tmp_path / "r" / "report.json").operators == ops


def test_predict_is_the_predictor() -> None:
    from rooflens.hardware import lookup
    from rooflens.model import load_architecture
    from rooflens.predict import Precision, Workload, predict

    got = rooflens.predict("llama-3-8b", "H200", batch=8, input_len=1024, output_len=64)
    want = predict(
        load_architecture("llama-3-8b"),
        lookup("H200"),
        Workload(8, 1024, 64, Precision.parse("W16A16KV16")),
    )
    assert got.to_dict() == want.to_dict()


def test_to_pandas_without_pandas_says_how_to_get_it(monkeypatch: Any) -> None:
    import sys

    import pytest

    from rooflens.errors import RooflensError

    rep = rooflens.load_report(
        Path(__file__).resolve().parents[2] / "examples/h200_llama3_8b_prefill/report/report.json"
    )
    monkeypatch.setitem(sys.modules, "pandas", None)  # import pandas → ImportError
    with pytest.raises(RooflensError, match="pip install pandas"):
        rep.to_pandas()


def test_to_pandas_has_one_row_per_operator_row() -> None:
    import pytest

    pytest.importorskip("pandas")
    rep = rooflens.load_report(
        Path(__file__).resolve().parents[2] / "examples/h200_llama3_8b_prefill/report/report.json"
    )
    df = rep.to_pandas()
    assert len(df) == len(rep.doc["comparison"]["operators"])
    first = rep.doc["comparison"]["operators"][0]
    assert (
        df.iloc[0]["name"] == first["name"]
        and df.iloc[0]["measured_time_s"] == first["measured_time_s"]
    )
