"""Operators of what Hugging Face programs run beyond the decoder: Qwen3's per-head q_norm/k_norm
(``qk_norm``) and the generate loop's logits processing / next-token choice (``sampling``)."""

from __future__ import annotations

from typing import Any

import pytest

from rooflens.hardware import lookup
from rooflens.model import load_architecture
from rooflens.predict import Precision, Workload, predict


def rows(model: str, batch: int, s: int, n: int) -> dict[tuple[str, str], Any]:
    wl = Workload(batch, s, n, Precision.parse("W16A16KV16"), layers=1)
    pred = predict(load_architecture(model), lookup("nvidia_H200_SXM_141G"), wl)
    return {(r.name, r.phase): r for r in pred.operators}


def test_qwen3_qk_norm_by_hand() -> None:
    # Qwen3-8B: 32 query + 8 KV heads of 128; RMSNorm 4 FLOP per element, reads + writes fp16.
    r = rows("qwen3-8b", 4, 256, 2)
    t = 4 * 256
    prefill = r[("qk_norm", "prefill")]
    assert prefill.flops == pytest.approx(4 * t * 40 * 128)
    assert prefill.bytes == pytest.approx(2 * t * 40 * 128 * 2)
    decode = r[("qk_norm", "decode_first_token")]
    assert decode.flops == pytest.approx(4 * 4 * 40 * 128)


def test_no_qk_norm_for_llama() -> None:
    assert not any(name == "qk_norm" for name, _ in rows("llama-3-8b", 1, 128, 2))


def test_sampling_reads_the_logits_once_per_step() -> None:
    # Llama-3-8B: V = 128,256 logits per sequence, fp16; one compare each; 8-byte token id written.
    r = rows("llama-3-8b", 4, 128, 2)
    for phase in ("prefill", "decode_first_token"):
        op = r[("sampling", phase)]
        assert op.flops == pytest.approx(4 * 128256)
        assert op.bytes == pytest.approx(4 * 128256 * 2 + 4 * 8)
