"""The tensor shapes the built-in workload needs, taken from a model architecture.

Kept apart from :mod:`rooflens.capture.workload` (which imports torch) so that the CPU side can
validate a model for profiling — and say what is unsupported — without torch installed.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any

from rooflens.errors import RooflensError
from rooflens.model import Architecture


@dataclass(frozen=True)
class DecoderShape:
    """Dimensions of a Llama/Qwen/Mistral-style decoder (and its MoE variants) for the workload."""

    hidden_size: int
    intermediate_size: int
    num_layers: int
    num_heads: int
    num_kv_heads: int
    head_dim: int
    vocab_size: int
    gated_mlp: bool = True
    rms_norm: bool = True
    norm_eps: float = 1e-5
    rope_theta: float = 10000.0
    rope: bool = True  # False: learned absolute positions (GPT-2, OPT), added in the embedding
    tie_word_embeddings: bool = False
    num_experts: int = 0  # routed experts; 0 = dense MLP
    top_k: int = 0
    moe_intermediate_size: int = 0
    num_shared_experts: int = 0
    name: str = "model"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> DecoderShape:
        known = cls.__dataclass_fields__
        return cls(**{k: v for k, v in d.items() if k in known})


def shard_shape(shape: DecoderShape, tp: int) -> DecoderShape:
    """The per-rank shape under Megatron-style tensor parallelism over ``tp`` GPUs.

    Column-parallel QKV and gate/up (each rank holds H/tp query heads, Hkv/tp KV heads and I/tp
    of the MLP width), row-parallel o_proj and down_proj (each rank's partial sums are all-reduced
    after attention and after the MLP); embedding, norms and LM head are replicated.  The hidden
    size is unchanged, so a rank's Decoder of this shape plus the two all-reduces computes the
    full layer (tests/capture/test_tp_cpu.py checks it against the unsharded layer).
    """
    if tp == 1:
        return shape
    if shape.num_experts:
        raise RooflensError("--tp with a MoE model: the built-in workload shards dense models only")
    for what, n in (("attention heads", shape.num_heads), ("KV heads", shape.num_kv_heads),
                    ("MLP width", shape.intermediate_size)):  # fmt: skip
        if n % tp:
            raise RooflensError(f"--tp {tp} does not divide the model's {n} {what}")
    return replace(
        shape,
        num_heads=shape.num_heads // tp,
        num_kv_heads=shape.num_kv_heads // tp,
        intermediate_size=shape.intermediate_size // tp,
    )


def shape_from_architecture(arch: Architecture) -> DecoderShape:
    """Build a :class:`DecoderShape` from a :class:`rooflens.model.Architecture`.

    Raises :class:`RooflensError` for architectures the built-in workload cannot run (MLA);
    such models are profiled through their own engine with ``rooflens profile -- CMD``.
    """
    if arch.is_mla:
        raise RooflensError(
            f"{arch.name}: the built-in workload does not implement MLA attention (DeepSeek); "
            "profile your serving engine instead: rooflens profile [options] -- CMD"
        )
    shared = arch.shared_expert_intermediate_size
    inter = arch.moe_intermediate_size or arch.intermediate_size
    return DecoderShape(
        hidden_size=arch.hidden_size,
        intermediate_size=arch.intermediate_size,
        num_layers=arch.num_layers,
        num_heads=arch.num_heads,
        num_kv_heads=arch.num_kv_heads,
        head_dim=arch.head_dim,
        vocab_size=arch.vocab_size,
        gated_mlp=arch.mlp == "gated",
        rms_norm=arch.norm == "rms",
        norm_eps=arch.norm_eps,
        rope_theta=arch.rope_theta or 10000.0,
        rope=arch.position == "rope",
        tie_word_embeddings=arch.tie_word_embeddings,
        num_experts=arch.num_experts if arch.is_moe else 0,
        top_k=arch.top_k if arch.is_moe else 0,
        moe_intermediate_size=inter if arch.is_moe else 0,
        num_shared_experts=(shared + inter - 1) // inter if arch.is_moe and shared else 0,
        name=arch.name,
    )
