"""Precision notation, weight-only group scales, FP8 peak, tensor parallelism."""

from __future__ import annotations

import pytest

from rooflens.errors import RooflensError
from rooflens.hardware import lookup
from rooflens.model import load_architecture
from rooflens.predict import Precision, Workload, predict


def op(pred, phase: str, name: str):  # type: ignore[no-untyped-def]
    (found,) = [r for r in pred.operators if r.phase == phase and r.name == name]
    return found


@pytest.mark.parametrize(
    ("text", "w", "a", "kv", "dtype", "group"),
    [
        ("W16A16KV16", 2, 2, 2, "fp16", 0),
        ("bf16", 2, 2, 2, "bf16", 0),
        ("fp8", 1, 1, 2, "fp8", 0),
        ("W8A8KV8", 1, 1, 1, "fp8", 0),
        ("w8a8-int8", 1, 1, 2, "int8", 0),
        ("W4A16", 0.5, 2, 2, "fp16", 128),
        ("W4A16G64", 0.5, 2, 2, "fp16", 64),
        ("W8A16", 1, 2, 2, "fp16", 128),
        ("W16A16KV8", 2, 2, 1, "fp16", 0),
        ("fp32", 4, 4, 4, "fp32", 0),
    ],
)
def test_parse(text: str, w: float, a: float, kv: float, dtype: str, group: int) -> None:
    p = Precision.parse(text)
    assert (p.weight_bytes, p.act_bytes, p.kv_bytes, p.compute_dtype, p.group_size) == (
        w,
        a,
        kv,
        dtype,
        group,
    )


@pytest.mark.parametrize("text", ["W4A8", "W16A8", "W3A16", "fp4", ""])
def test_parse_rejects(text: str) -> None:
    with pytest.raises(RooflensError):
        Precision.parse(text)


def test_w4a16_group_scales_and_fp16_peak() -> None:
    pred = predict(
        load_architecture("llama-2-7b"),
        lookup("H800"),
        Workload(1, 1, 1, Precision.parse("W4A16"), layers=1),
    )
    o = op(pred, "decode_first_token", "o_proj")
    weights = 4096 * 4096 * 0.5 + 4096 * 4096 / 128 * 2  # int4 + one fp16 scale per 128 weights
    assert o.bytes == pytest.approx(weights + 2 * 4096 * 2)
    assert pred.peak_flops == pytest.approx(989.5e12)
    head = op(pred, "decode_first_token", "lm_head")  # kept 16-bit in quantised checkpoints
    assert head.bytes == pytest.approx(4096 * 32000 * 2 + (4096 + 32000) * 2)


def test_fp8_uses_fp8_peak_and_one_byte() -> None:
    s = 2048
    pred = predict(
        load_architecture("llama-2-7b"),
        lookup("H800"),
        Workload(1, s, 1, Precision.parse("fp8"), layers=1),
    )
    g = op(pred, "prefill", "gate_up_proj")
    flops = 2 * s * 4096 * 22016
    nbytes = 4096 * 22016 * 1 + s * (4096 + 22016) * 1
    assert g.flops == pytest.approx(flops) and g.bytes == pytest.approx(nbytes)
    assert g.time_s == pytest.approx(max(flops / 1979e12, nbytes / 3.35e12))
    assert g.bound == "compute"


def test_tp2_splits_heads_and_adds_all_reduce() -> None:
    wl = Workload(1, 128, 1, Precision.parse("W16A16KV16"), layers=1, tp=2)
    pred = predict(load_architecture("llama-2-7b"), lookup("H800"), wl)
    qkv = op(pred, "prefill", "qkv_proj")
    assert qkv.flops == pytest.approx(
        2 * 128 * 4096 * (16 + 2 * 16) * 128
    )  # 16 + 16 + 16 heads per GPU
    down = op(pred, "prefill", "down_proj")
    assert down.flops == pytest.approx(2 * 128 * 5504 * 4096)
    ar = op(pred, "prefill", "all_reduce")
    per = 2 * (2 - 1) / 2 * 128 * 4096 * 2  # ring all-reduce of T·h 2-byte activations
    assert ar.comm_bytes == pytest.approx(2 * per)  # after attention and after the MLP
    assert ar.time_s == pytest.approx(2 * per / 400e9)  # H800 NVLink 400 GB/s
    assert ar.bound == "communication" and ar.bytes == 0


def test_tp_must_divide_heads() -> None:
    with pytest.raises(RooflensError, match="tp 3"):
        predict(
            load_architecture("llama-2-7b"),
            lookup("H800"),
            Workload(1, 8, 1, Precision.parse("fp16"), tp=3),
        )


@pytest.mark.parametrize(
    "kw", [{"batch": 0}, {"input_len": -1}, {"output_len": 0}, {"layers": 0}, {"tp": 0}]
)
def test_workload_validation(kw: dict[str, int]) -> None:
    args = {"batch": 1, "input_len": 8, "output_len": 1, "precision": Precision.parse("fp16")} | kw
    with pytest.raises(RooflensError):
        Workload(**args)  # type: ignore[arg-type]
