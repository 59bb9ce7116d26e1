"""Architecture features that change the numbers, each against a hand derivation."""

from __future__ import annotations

from dataclasses import replace

import pytest

from rooflens.hardware import lookup
from rooflens.model import load_architecture
from rooflens.predict import Precision, Workload, predict
from rooflens.predict.roofline import OpResult

FP16 = Precision.parse("W16A16KV16")


def op(pred, phase: str, name: str) -> OpResult:  # type: ignore[no-untyped-def]
    found = [r for r in pred.operators if r.phase == phase and r.name == name]
    assert len(found) == 1, (name, found)
    return found[0]


def test_gqa_llama3_8b() -> None:
    # h 4096, H 32, Hkv 8, d 128; b 2, s 256
    pred = predict(
        load_architecture("llama-3-8b"), lookup("H100"), Workload(2, 256, 1, FP16, layers=1)
    )
    t = 2 * 256
    qkv_out = (32 + 2 * 8) * 128
    assert op(pred, "prefill", "qkv_proj").flops == pytest.approx(2 * t * 4096 * qkv_out)
    assert op(pred, "prefill", "kv_cache_write").bytes == pytest.approx(t * 8 * 128 * 2 * 2)
    keys = 256 * 257 / 2
    tiles = 128 + 256  # two 128-row query tiles read 128 and 256 keys
    attn = op(pred, "prefill", "attention")
    assert attn.flops == pytest.approx(2 * 32 * (2 * 256 + 5) * keys)
    assert attn.bytes == pytest.approx(2 * t * 32 * 128 * 2 + 2 * tiles * 8 * 256 * 2)


def test_explicit_head_dim_qwen3_0_6b() -> None:
    # hidden 1024 but 16 heads × head_dim 128 = 2048 query width
    pred = predict(
        load_architecture("qwen3-0.6b"), lookup("H100"), Workload(1, 64, 1, FP16, layers=1)
    )
    assert op(pred, "prefill", "qkv_proj").flops == pytest.approx(2 * 64 * 1024 * (16 + 16) * 128)
    o = op(pred, "prefill", "o_proj")
    assert o.flops == pytest.approx(2 * 64 * 2048 * 1024)
    assert o.bytes == pytest.approx(2048 * 1024 * 2 + 64 * (2048 + 1024) * 2)


def test_tied_embeddings_count_weights_once() -> None:
    tied = load_architecture("qwen3-0.6b")
    untied = replace(tied, tie_word_embeddings=False)
    wl = Workload(1, 16, 1, FP16)
    diff = (
        predict(untied, lookup("H100"), wl).weight_bytes
        - predict(tied, lookup("H100"), wl).weight_bytes
    )
    assert diff == pytest.approx(151936 * 1024 * 2)  # one V × h matrix of 2-byte weights


def test_plain_mlp_gpt2() -> None:
    pred = predict(load_architecture("gpt2"), lookup("H100"), Workload(1, 32, 1, FP16, layers=1))
    up = op(pred, "prefill", "gate_up_proj")
    assert up.flops == pytest.approx(2 * 32 * 768 * 3072)  # one up matrix, no gate
    assert op(pred, "prefill", "act").bytes == pytest.approx(2 * 32 * 3072 * 2)
    assert "rope" not in {r.name for r in pred.operators}  # learned positions
    emb = op(pred, "prefill", "embedding")
    assert emb.bytes == pytest.approx(32 * 768 * (2 * 2 + 2))  # token + position rows, write


def test_moe_mixtral_decode_touches_top_k_experts() -> None:
    pred = predict(
        load_architecture("mixtral-8x7b"), lookup("H100"), Workload(1, 128, 1, FP16, layers=1)
    )
    ex = op(pred, "decode_first_token", "experts")
    # one token, top-2 of 8: 2 experts of 3 matrices 4096 × 14336
    assert ex.flops == pytest.approx(2 * (6 * 4096 * 14336 + 5 * 14336))
    assert ex.bytes == pytest.approx(2 * 3 * 4096 * 14336 * 2 + 2 * (2 * 4096 + 6 * 14336) * 2)
    router = op(pred, "decode_first_token", "router")
    assert router.flops == pytest.approx(2 * 4096 * 8 + 5 * 8)
    names = {r.name for r in pred.operators}
    assert "gate_up_proj" not in names and "shared_experts" not in names


def test_moe_prefill_expected_experts_touched() -> None:
    pred = predict(
        load_architecture("qwen3-30b-a3b"), lookup("H100"), Workload(1, 16, 1, FP16, layers=1)
    )
    touched = 128 * (1 - (1 - 8 / 128) ** 16)  # uniform routing, 16 tokens × top-8 of 128
    ex = op(pred, "prefill", "experts")
    assert ex.bytes == pytest.approx(
        touched * 3 * 2048 * 768 * 2 + 16 * 8 * (2 * 2048 + 6 * 768) * 2
    )


def test_deepseek_mla_decode_and_dense_layers() -> None:
    arch = load_architecture("deepseek-v3")
    pred = predict(arch, lookup("H100"), Workload(1, 1000, 1, FP16, layers=4))
    counts = {(r.name, r.phase): r.count for r in pred.operators}
    assert counts[("gate_up_proj", "prefill")] == 3  # layers 0-2 dense
    assert counts[("experts", "prefill")] == 1  # layer 3 routed
    assert counts[("attention", "prefill")] == 4
    kvw = op(pred, "decode_first_token", "kv_cache_write")
    assert kvw.bytes == pytest.approx(4 * (512 + 64) * 2)  # latent + rope key per layer
    attn = op(pred, "decode_first_token", "attention")
    keys = 1001
    # absorbed: 128 heads, q·k over 512+64, p·v over 512; latent row read once
    assert attn.flops == pytest.approx(4 * 128 * (2 * (576 + 512) + 5) * keys)
    assert attn.bytes == pytest.approx(4 * (128 * (576 + 512) * 2 + keys * 576 * 2))
    qa = op(pred, "prefill", "q_a_proj")
    assert qa.flops == pytest.approx(4 * 2 * 1000 * 7168 * 1536)
    kvb = op(pred, "prefill", "kv_b_proj")  # decompression of the 1000 prompt tokens
    assert kvb.flops == pytest.approx(4 * 2 * 1000 * 512 * 128 * (128 + 128))
    sh = op(pred, "prefill", "shared_experts")
    assert sh.flops == pytest.approx(1000 * (6 * 7168 * 2048 + 5 * 2048))


def test_eager_attention_materialises_scores() -> None:
    arch = load_architecture("llama-2-7b")
    s = 256
    eager = predict(arch, lookup("H800"), Workload(1, s, 1, FP16, layers=1, attention="eager"))
    attn = op(eager, "prefill", "attention")
    assert attn.flops == pytest.approx(32 * (2 * 256 + 5) * s * s)  # full score matrix computed
    assert attn.bytes == pytest.approx(2 * s * 32 * 128 * 2 + s * 32 * 256 * 2 + 2 * 32 * s * s * 2)
