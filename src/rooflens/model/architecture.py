"""The shape of a decoder-only transformer, in Hugging Face ``config.json`` terms.

:class:`Architecture` holds only what changes the roofline numbers (and what the integrator
needs to build one PyTorch decoder layer): sizes, head layout, MLP kind, MoE and MLA fields.
It is plain data, frozen, with no file or GPU knowledge; :mod:`rooflens.model.loader` makes
one from a config dict.  Field names are stable: other layers build on them.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Literal

MlpKind = Literal["gated", "plain"]
NormKind = Literal["rms", "layer"]
PositionKind = Literal["rope", "learned"]


@dataclass(frozen=True)
class Architecture:
    """A decoder LM's shape.  Counts are plain integers; ``head_dim`` is per attention head.

    ``head_dim`` is the config's explicit ``head_dim`` when it has one (Qwen3, Gemma), else
    ``hidden_size // num_heads``.  For MLA models (DeepSeek-V2/V3) ``head_dim`` is the
    query/key head size ``qk_nope_head_dim + qk_rope_head_dim`` and ``v_head_dim`` the value
    head size; ``num_kv_heads`` equals ``num_heads`` (after decompression).

    MoE: ``num_experts`` routed experts (0 = dense model), ``top_k`` of them per token, each a
    gated MLP of ``moe_intermediate_size``; ``shared_expert_intermediate_size`` is the total
    width of the always-on shared expert(s) (0 = none); ``dense_layers`` lists the layer
    indices that use the dense MLP of ``intermediate_size`` instead (DeepSeek's
    ``first_k_dense_replace``, Qwen-MoE's ``mlp_only_layers`` / ``decoder_sparse_step``).
    """

    name: str
    model_type: str
    hidden_size: int
    intermediate_size: int
    num_layers: int
    num_heads: int
    num_kv_heads: int
    head_dim: int
    vocab_size: int
    tie_word_embeddings: bool = False
    mlp: MlpKind = "gated"
    hidden_act: str = "silu"
    norm: NormKind = "rms"
    norm_eps: float = 1e-6
    position: PositionKind = "rope"
    rope_theta: float | None = 10000.0
    max_position: int = 4096
    sliding_window: int | None = None
    attention_bias: bool = False
    mlp_bias: bool = False
    qk_norm: bool = False
    # MoE
    num_experts: int = 0
    top_k: int = 0
    moe_intermediate_size: int = 0
    num_shared_experts: int = 0
    shared_expert_intermediate_size: int = 0
    dense_layers: tuple[int, ...] = field(default_factory=tuple)
    # MLA (multi-head latent attention)
    kv_lora_rank: int = 0
    q_lora_rank: int = 0
    qk_rope_head_dim: int = 0
    qk_nope_head_dim: int = 0
    v_head_dim: int = 0
    torch_dtype: str = "bfloat16"

    @property
    def is_moe(self) -> bool:
        """True when some layers route tokens to experts."""
        return self.num_experts > 0 and self.top_k > 0

    @property
    def is_mla(self) -> bool:
        """True for multi-head latent attention (a compressed KV cache of ``kv_lora_rank``)."""
        return self.kv_lora_rank > 0

    @property
    def attention_v_head_dim(self) -> int:
        """Value head size: ``v_head_dim`` for MLA, else ``head_dim``."""
        return self.v_head_dim if self.is_mla else self.head_dim

    def is_moe_layer(self, index: int) -> bool:
        """Whether layer ``index`` (0-based) uses routed experts."""
        return self.is_moe and index not in self.dense_layers

    def with_layers(self, num_layers: int) -> Architecture:
        """The same model restricted to its first ``num_layers`` layers."""
        return replace(self, num_layers=num_layers)
