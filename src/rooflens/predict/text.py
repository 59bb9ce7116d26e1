"""The prediction block as plain text, in the seed report's line format (zh) or English.

Independent of :mod:`rooflens.report`: ``rooflens predict --format md`` prints it, and the
report renderer may reuse it.  Numbers have 3 significant figures in the seed's fixed units
(OPs/Byte, TOPS, ms, GB).
"""

from __future__ import annotations

from rooflens.predict.prediction import Prediction
from rooflens.predict.roofline import OpResult, PhaseFigures
from rooflens.units import sig3

_BOUND_ZH = {
    "compute": "compute",
    "memory": "memory",
    "communication": "communication",
    None: "n/a",
}

_LINES = {
    "zh": {
        "hw": " 硬件: {gpu}",
        "prec": " 精度: {prec}",
        "prefill": " Prefill 阶段: 强度 {i} OPs/Byte, 受限类型 {b}, 性能 {p} TOPS, 预计时长 {t} ms, 内存访问 {m} GB",
        "decode": " Decode 单token: 强度 {i} OPs/Byte, 受限类型 {b}, 性能 {p} TOPS, 单token时长 {t} ms, "
        "总时长(@输出{n} token) {tt} ms, 总内存 {mm} GB",
        "overall": " 总体估计: 强度 {i} OPs/Byte, 受限类型 {b}, 性能 {p} TOPS, 预计总时长 {t} ms, 总体OPs {f} TOPs",
        "note": " 注: {note}",
    },
    "en": {
        "hw": " Hardware: {gpu}",
        "prec": " Precision: {prec}",
        "prefill": " Prefill: intensity {i} FLOP/byte, bound {b}, performance {p} TFLOP/s, "
        "predicted time {t} ms, memory {m} GB",
        "decode": " Decode per token: intensity {i} FLOP/byte, bound {b}, performance {p} TFLOP/s, "
        "per-token time {t} ms, total (@{n} output tokens) {tt} ms, total memory {mm} GB",
        "overall": " Overall: intensity {i} FLOP/byte, bound {b}, performance {p} TFLOP/s, "
        "predicted total time {t} ms, total FLOPs {f} TFLOP",
        "note": " Note: {note}",
    },
}


def _fields(ph: PhaseFigures) -> dict[str, str]:
    return {
        "i": sig3(ph.intensity),
        "b": _BOUND_ZH[ph.bound],
        "p": sig3(ph.performance_flops / 1e12),
        "t": sig3(ph.time_s * 1e3),
        "m": sig3(ph.bytes / 1e9),
        "f": sig3(ph.flops / 1e12),
    }


def prediction_block(pred: Prediction, lang: str = "zh") -> str:
    """The seed's prediction lines (hardware, precision, prefill, decode, overall) plus notes."""
    if lang not in _LINES:
        lang = "en"
    fmt = _LINES[lang]
    total = pred.phases["decode_total"]
    lines = [
        fmt["hw"].format(gpu=pred.gpu.key),
        fmt["prec"].format(prec=pred.workload.precision.seed_label),
        fmt["prefill"].format(**_fields(pred.phases["prefill"])),
        fmt["decode"].format(
            **_fields(pred.phases["decode_first_token"]),
            n=pred.workload.output_len,
            tt=sig3(total.time_s * 1e3),
            mm=sig3(total.bytes / 1e9),
        ),
        fmt["overall"].format(**_fields(pred.phases["overall"])),
    ]
    lines += [fmt["note"].format(note=n) for n in pred.notes]
    return "\n".join(lines) + "\n"


_HEAD = {
    "zh": "| 算子 | 阶段 | 层数 | FLOPs | 字节 | 强度 | 时间 (us) | 受限类型 |",
    "en": "| operator | phase | layers | FLOPs | bytes | intensity | time (us) | bound |",
}


def _row(r: OpResult) -> str:
    cells = [r.name, r.phase, str(r.count), sig3(r.flops), sig3(r.bytes), sig3(r.intensity)]
    cells += [sig3(r.time_s * 1e6), r.bound]
    return "| " + " | ".join(cells) + " |"


def operator_table(
    pred: Prediction, lang: str = "zh", phases: tuple[str, ...] = ("prefill", "decode_first_token")
) -> str:
    """A Markdown table of the operator rows of ``phases`` (totals over their layers)."""
    head = _HEAD.get(lang, _HEAD["en"])
    rows = [_row(r) for r in pred.operators if r.phase in phases]
    return "\n".join([head, "|" + "---|" * 8, *rows]) + "\n"
