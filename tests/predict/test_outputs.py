"""Prediction outputs: self-check over every preset, text block (en), sweep rows, layer limits."""

from __future__ import annotations

import pytest

from rooflens.errors import RooflensError
from rooflens.hardware import lookup
from rooflens.model import list_presets, load_architecture
from rooflens.predict import Precision, Workload, predict
from rooflens.predict.sweep import COLUMNS, sweep
from rooflens.predict.text import prediction_block


@pytest.mark.parametrize("name", list_presets())
def test_every_preset_predicts_and_passes_self_check(name: str) -> None:
    arch = load_architecture(name)
    wl = Workload(4, 300, 40, Precision.parse("W16A16KV16"))
    pred = predict(arch, lookup("H200"), wl)
    pred.self_check()
    overall = pred.phases["overall"]
    assert overall.time_s == pytest.approx(
        pred.phases["prefill"].time_s + pred.phases["decode_total"].time_s
    )
    assert pred.phases["decode_total"].steps == 39


def test_english_block_lines() -> None:
    wl = Workload(1, 128, 5, Precision.parse("W16A16KV16"), layers=1)
    pred = predict(load_architecture("llama-2-7b"), lookup("H800"), wl)
    text = prediction_block(pred, "en").splitlines()
    assert text[0] == " Hardware: nvidia_H800_SXM5_80G"
    assert text[3].startswith(" Decode per token: intensity ")
    assert "total (@5 output tokens) " in text[3]
    ms = pred.phases["decode_total"].time_s * 1e3
    assert f"{ms:.3f}" in text[3]  # 3 significant figures of a value in (0.1, 1) ms: 3 decimals
    assert text[-1] == " Note: --layers 1: the model is restricted to 1 of 32 layers"


def test_sweep_rows_cover_the_grid() -> None:
    arch = load_architecture("qwen3-0.6b")
    rows = list(sweep(arch, lookup("L40S"), Precision.parse("fp8"), [1, 2], [16, 32, 64], [1, 3]))
    assert len(rows) == 2 * 3 * 2
    assert all(set(r) == set(COLUMNS) for r in rows)
    first = rows[0]
    assert (first["batch"], first["input_len"], first["output_len"]) == (1, 16, 1)
    assert first["decode_total_time_s"] == 0
    single = predict(arch, lookup("L40S"), Workload(2, 64, 3, Precision.parse("fp8")))
    assert rows[-1]["overall_time_s"] == single.phases["overall"].time_s


def test_sweep_validates_before_predicting() -> None:
    with pytest.raises(RooflensError, match="batch"):
        list(
            sweep(
                load_architecture("gpt2"), lookup("H100"), Precision.parse("fp16"), [1, 0], [8], [1]
            )
        )


def test_layers_beyond_the_model() -> None:
    with pytest.raises(RooflensError, match="--layers 13"):
        predict(
            load_architecture("gpt2"),
            lookup("H100"),
            Workload(1, 8, 1, Precision.parse("fp16"), layers=13),
        )


def test_operator_rows_layer_fields() -> None:
    arch, gpu, p = load_architecture("deepseek-v3"), lookup("H100"), Precision.parse("fp8")
    ops = predict(arch, gpu, Workload(1, 8, 1, p)).to_dict()["operators"]
    by_key = {(o["name"], o["phase"]): o for o in ops}  # type: ignore[index]
    qkv = by_key[("q_a_proj", "prefill")]
    assert (qkv["layer"], qkv["first_layer"], qkv["count"]) == (None, 0, 61)
    experts = by_key[("experts", "prefill")]
    assert (experts["layer"], experts["first_layer"], experts["count"]) == (None, 3, 58)
    emb = by_key[("embedding", "prefill")]
    assert (emb["layer"], emb["first_layer"], emb["count"]) == (None, None, 1)
    one = predict(arch, gpu, Workload(1, 8, 1, p, layers=1)).to_dict()["operators"]
    assert {o["layer"] for o in one if o["name"] == "attention"} == {0}  # type: ignore[index]
