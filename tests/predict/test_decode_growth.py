"""Decode: n output tokens → n − 1 steps, each attending one more key (exact sum, not n × first)."""

from __future__ import annotations

import pytest

from rooflens.hardware import lookup
from rooflens.model import load_architecture
from rooflens.predict import Precision, Workload, predict

PEAK, BW = 989.5e12, 3.35e12


def test_512_decode_steps_sum_exactly() -> None:
    s, steps = 1024, 512
    wl = Workload(1, s, steps + 1, Precision.parse("W16A16KV16"), layers=1)
    pred = predict(load_architecture("llama-2-7b"), lookup("H800"), wl)
    total = pred.phases["decode_total"]
    assert total.steps == steps
    # Step-independent operators of one decode step (T = 1 token), by hand:
    const = [
        (0, 4096 * 2 + 4096 * 2),  # embedding
        (4 * 4096, 2 * 4096 * 2),  # attn_norm
        (2 * 4096 * 12288, 4096 * 12288 * 2 + 4096 * 2 + 12288 * 2),  # qkv_proj
        (3 * 64 * 128, 2 * 64 * 128 * 2),  # rope
        (0, 32 * 128 * 2 * 2),  # kv_cache_write
        (2 * 4096 * 4096, 4096 * 4096 * 2 + 2 * 4096 * 2),  # o_proj
        (4096, 3 * 4096 * 2),  # attn_residual
        (4 * 4096, 2 * 4096 * 2),  # mlp_norm
        (2 * 4096 * 22016, 4096 * 22016 * 2 + 4096 * 2 + 22016 * 2),  # gate_up_proj
        (5 * 11008, 3 * 11008 * 2),  # act
        (2 * 11008 * 4096, 11008 * 4096 * 2 + 11008 * 2 + 4096 * 2),  # down_proj
        (4096, 3 * 4096 * 2),  # mlp_residual
        (4 * 4096, 2 * 4096 * 2),  # final_norm
        (2 * 4096 * 32000, 4096 * 32000 * 2 + 4096 * 2 + 32000 * 2),  # lm_head
        (32000, 32000 * 2 + 8),  # sampling: a compare per logit, logits read, one token id written
    ]
    flops = bytes_ = time = 0.0
    for i in range(1, steps + 1):
        keys = s + i
        attn = (32 * (2 * 256 + 5) * keys, 2 * 32 * 128 * 2 + keys * 32 * 256 * 2)
        for f, b in [*const, attn]:
            flops += f
            bytes_ += b
            time += max(f / PEAK, b / BW)
    assert total.flops == pytest.approx(flops)
    assert total.bytes == pytest.approx(bytes_)
    assert total.time_s == pytest.approx(time)
    first = pred.phases["decode_first_token"]
    assert total.time_s > steps * first.time_s  # the cache grows: later steps cost more
    overall = pred.phases["overall"]
    assert overall.time_s == pytest.approx(pred.phases["prefill"].time_s + time)


def test_sliding_window_caps_keys() -> None:
    # Mistral-7B: window 4096; at s = 8192 the first decode step attends 4096 keys, not 8193
    wl = Workload(1, 8192, 1, Precision.parse("W16A16KV16"), layers=1)
    pred = predict(load_architecture("mistral-7b"), lookup("H100"), wl)
    attn = next(
        r for r in pred.operators if r.phase == "decode_first_token" and r.name == "attention"
    )
    assert attn.flops == pytest.approx(32 * (2 * 256 + 5) * 4096)
    assert attn.bytes == pytest.approx(2 * 32 * 128 * 2 + 4096 * 8 * 256 * 2)
