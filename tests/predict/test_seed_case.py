"""The seed's case by hand: Llama-2-7B shape, 1 layer, H800, W16A16KV16, b=1, output 1.

Every number below is derived from REPORT_SPEC section 一 with the shape written out:
h = 4096, H = Hkv = 32, d = 128, I = 11008, V = 32000, 2 bytes per element, H800 peak
989.5e12 FLOP/s (FP16 dense) and 3.35e12 bytes/s.
"""

from __future__ import annotations

import pytest

from rooflens.hardware import lookup
from rooflens.model import load_architecture
from rooflens.predict import Precision, Workload, predict

PEAK, BW = 989.5e12, 3.35e12


def roof(flops: float, nbytes: float) -> float:
    return max(flops / PEAK, nbytes / BW)


def seed_prediction(s: int, n: int = 1):  # type: ignore[no-untyped-def]
    wl = Workload(1, s, n, Precision.parse("W16A16KV16"), layers=1)
    return predict(load_architecture("llama-2-7b"), lookup("nvidia_H800_SXM5_80G"), wl)


def hand_prefill_ops(s: int) -> dict[str, tuple[float, float]]:
    """(FLOPs, bytes) per operator of the one-layer prefill, written out from REPORT_SPEC."""
    t = s  # b·s tokens
    keys = s * (s + 1) / 2  # causal: query p attends p+1 keys
    tiles_read = sum(min((j + 1) * 128, s) for j in range((s + 127) // 128))  # K/V per 128-row tile
    return {
        "embedding": (0, t * 4096 * 2 + t * 4096 * 2),  # gather rows, write T·h
        "attn_norm": (4 * t * 4096, 2 * t * 4096 * 2),
        "qkv_proj": (2 * t * 4096 * 12288, 4096 * 12288 * 2 + t * 4096 * 2 + t * 12288 * 2),
        "rope": (3 * t * 64 * 128, 2 * t * 64 * 128 * 2),
        "kv_cache_write": (0, t * 32 * 128 * 2 * 2),
        "attention": (
            4 * 32 * 128 * keys + 5 * 32 * keys,  # QKᵀ+PV, softmax
            2 * t * 32 * 128 * 2 + tiles_read * 32 * 256 * 2,  # Q, O; K and V per tile
        ),
        "o_proj": (2 * t * 4096 * 4096, 4096 * 4096 * 2 + 2 * t * 4096 * 2),
        "attn_residual": (t * 4096, 3 * t * 4096 * 2),
        "mlp_norm": (4 * t * 4096, 2 * t * 4096 * 2),
        "gate_up_proj": (2 * t * 4096 * 22016, 4096 * 22016 * 2 + t * 4096 * 2 + t * 22016 * 2),
        "act": (5 * t * 11008, 3 * t * 11008 * 2),
        "down_proj": (2 * t * 11008 * 4096, 11008 * 4096 * 2 + t * 11008 * 2 + t * 4096 * 2),
        "mlp_residual": (t * 4096, 3 * t * 4096 * 2),
        "final_norm": (4 * t * 4096, 2 * t * 4096 * 2),
        "lm_head": (
            2 * 1 * 4096 * 32000,
            4096 * 32000 * 2 + 1 * 4096 * 2 + 1 * 32000 * 2,
        ),  # last token
        "sampling": (32000, 32000 * 2 + 8),  # one compare per logit; logits read, one id written
    }


@pytest.mark.parametrize("s", [128, 1024])
def test_prefill_operators_match_hand_derivation(s: int) -> None:
    pred = seed_prediction(s)
    rows = {r.name: r for r in pred.operators if r.phase == "prefill"}
    hand = hand_prefill_ops(s)
    assert set(rows) == set(hand)
    for name, (flops, nbytes) in hand.items():
        assert rows[name].flops == pytest.approx(flops), name
        assert rows[name].bytes == pytest.approx(nbytes), name
        assert rows[name].time_s == pytest.approx(roof(flops, nbytes)), name


@pytest.mark.parametrize("s", [128, 1024])
def test_prefill_phase_figures(s: int) -> None:
    pred = seed_prediction(s)
    hand = hand_prefill_ops(s).values()
    flops = sum(f for f, _ in hand)
    nbytes = sum(b for _, b in hand)
    time = sum(roof(f, b) for f, b in hand)  # sum of maxima
    ph = pred.phases["prefill"]
    assert ph.flops == pytest.approx(flops)
    assert ph.bytes == pytest.approx(nbytes)
    assert ph.time_s == pytest.approx(time)
    assert ph.intensity == pytest.approx(flops / nbytes)
    assert ph.performance_flops == pytest.approx(flops / time)
    assert pred.phases["overall"].time_s == pytest.approx(time)  # n = 1: no decode step


def test_seed_128_is_memory_bound_and_1024_compute_bound() -> None:
    # s = 128: the GEMMs' intensity is about 2·128·in·out / (2·in·out) ≈ 123 < ridge 989.5/3.35 ≈ 295
    assert seed_prediction(128).phases["prefill"].bound == "memory"
    assert seed_prediction(1024).phases["prefill"].bound == "compute"


def test_first_decode_token_at_context_s() -> None:
    s = 128
    pred = seed_prediction(s)
    attn = next(
        r for r in pred.operators if r.phase == "decode_first_token" and r.name == "attention"
    )
    keys = s + 1  # the cache holds s prompt tokens, the new token attends them and itself
    assert attn.flops == pytest.approx(4 * 32 * 128 * keys + 5 * 32 * keys)
    assert attn.bytes == pytest.approx(2 * 32 * 128 * 2 + keys * 32 * 256 * 2)
    qkv = next(
        r for r in pred.operators if r.phase == "decode_first_token" and r.name == "qkv_proj"
    )
    assert qkv.flops == pytest.approx(2 * 4096 * 12288)
    assert pred.phases["decode_total"].time_s == 0 and pred.phases["decode_total"].steps == 0
