"""Precision: bytes per element of weights, activations and KV cache, and the peak to use.

Notation as the seed report wrote it: ``W16A16KV16`` (weights 16-bit, activations 16-bit, KV
cache 16-bit).  Friends: ``W8A8`` / ``fp8`` (FP8 tensor cores), ``W8A8-INT8`` / ``int8``,
weight-only ``W4A16`` / ``W8A16`` (FP16 tensor cores, plus one FP16 scale per group of
``group_size`` weights), ``KV8`` for an 8-bit KV cache, ``G64`` for another group size.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rooflens.errors import RooflensError

DEFAULT_GROUP_SIZE = 128
SCALE_BYTES = 2.0  # one FP16 scale per quantisation group (GPTQ/AWQ-style)

_ALIASES = {
    "FP16": "W16A16KV16",
    "HALF": "W16A16KV16",
    "BF16": "W16A16KV16BF16",
    "FP32": "W32A32KV32",
    "TF32": "W32A32KV32TF32",
    "FP8": "W8A8KV16",
    "FP8KV8": "W8A8KV8",
    "INT8KV8": "W8A8KV8INT8",
    "INT8": "W8A8KV16INT8",
    "INT4": "W4A16KV16",
    "AWQ": "W4A16KV16",
    "GPTQ": "W4A16KV16",
}
_PATTERN = re.compile(
    r"^W(?P<w>4|8|16|32)A(?P<a>8|16|32)(?:KV(?P<kv>4|8|16|32))?(?:G(?P<g>\d+))?"
    r"(?P<dtype>FP8|E4M3|INT8|BF16|FP16|TF32)?$"
)


@dataclass(frozen=True)
class Precision:
    """Bytes per element (``weight_bytes`` may be 0.5 for 4-bit) and the compute dtype.

    ``compute_dtype`` is a key of :attr:`rooflens.hardware.GPU.peak_flops`: the arithmetic
    precision of the matrix multiplies (REPORT_SPEC: W16A16 → FP16/BF16 tensor, W8A8 → FP8 or
    INT8 tensor, weight-only → FP16 tensor).  ``group_size`` > 0 means weight-only
    quantisation with one ``scale_bytes`` scale per ``group_size`` weights.
    """

    label: str
    weight_bytes: float
    act_bytes: float
    kv_bytes: float
    compute_dtype: str
    group_size: int = 0
    scale_bytes: float = SCALE_BYTES

    @property
    def seed_label(self) -> str:
        """The seed report's spelling: ``W16 / A16 / KV16``."""
        m = _PATTERN.match(self.label.replace("-", ""))
        if not m:
            return self.label
        return f"W{m['w']} / A{m['a']} / KV{m['kv']}"

    @property
    def head_weight_bytes(self) -> float:
        """Embedding and LM-head weights stay 16-bit in quantised checkpoints (GPTQ, AWQ, FP8)."""
        return max(self.act_bytes, 2.0)

    @property
    def head_dtype(self) -> str:
        """Compute dtype of the LM head: 16-bit unless the whole model runs in FP32/TF32."""
        return self.compute_dtype if self.act_bytes >= 2 else "fp16"

    @classmethod
    def parse(cls, text: str) -> Precision:
        """``"W16A16KV16"``, ``"fp8"``, ``"W4A16"``, ``"W8A8KV8"``, ``"int8"``… → Precision."""
        key = re.sub(r"[\s_\-/]", "", text.upper())
        key = _ALIASES.get(key, key)
        m = _PATTERN.match(key)
        if not m:
            raise RooflensError(
                f"unknown precision '{text}' (use W16A16KV16, W8A8, W8A8KV8, W8A8-INT8, "
                "W4A16, W8A16, fp16, bf16, fp8, int8, fp32)"
            )
        return _build(text, int(m["w"]), int(m["a"]), m["kv"], m["g"], m["dtype"])


def _build(
    text: str, w: int, a: int, kv: str | None, g: str | None, dtype: str | None
) -> Precision:
    if w > a:
        raise RooflensError(f"precision '{text}': weights wider than activations are not supported")
    if a == 8 and w != 8:
        raise RooflensError(
            f"precision '{text}': with 8-bit activations weights must be 8-bit (W8A8)"
        )
    kv_bits = int(kv) if kv else (32 if a == 32 else 16)
    if a == 8:
        compute = "int8" if dtype == "INT8" else "fp8"
    elif a == 16:
        compute = "bf16" if dtype == "BF16" else "fp16"
    else:
        compute = "tf32" if dtype == "TF32" else "fp32"
    group = 0
    if w < a:
        group = int(g) if g else DEFAULT_GROUP_SIZE
        if group <= 0:
            raise RooflensError(f"precision '{text}': group size must be positive")
    label = f"W{w}A{a}KV{kv_bits}"
    if group and group != DEFAULT_GROUP_SIZE:
        label += f"G{group}"
    if compute in ("int8", "bf16", "tf32"):
        label += f"-{compute.upper()}"
    return Precision(label, w / 8, a / 8, kv_bits / 8, compute, group)
