"""Kernel name → operator, for kernels that no NVTX range maps exactly.

The built-in workload wraps every operator in an NVTX range, so its kernels carry their
operator already.  Foreign programs (SGLang, vLLM, TensorRT-LLM) only give kernel names, so
rooflens falls back to two steps, both pure functions over names:

1. :func:`classify_kernel` — a regex table (data, first match wins) sorts a name into a
   *class*: ``gemm``, ``attention``, ``norm``, ``rope``, ``act``, ``kv_cache_write``, ``copy``,
   ``all_reduce``, ``residual``, ``embedding`` or ``other``.
2. :func:`assign_operators` — walks the kernels of a run in launch order and turns classes into
   the predictor's operator names (docs/architecture.md): GEMMs before attention are
   ``qkv_proj``, the first after it ``o_proj``, then ``gate_up_proj`` until the activation,
   then ``down_proj``; the first norm of a layer is ``attn_norm``, the one after attention
   ``mlp_norm``; a trailing GEMM not followed by attention is ``lm_head``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from rooflens.vocab import OPERATOR_CLASSES

# Ordered (class, pattern) table: the first pattern that matches a kernel name wins.  Order
# matters: flashinfer's norm/rope/activation kernels contain "flash", so those classes come
# before attention; flash-attention kernels are templated on cutlass types, so attention is
# tested before the GEMM libraries; "prepare_varlen" belongs to flash attention's launch.
KERNEL_CLASSES: tuple[tuple[str, str], ...] = (
    ("all_reduce", r"nccl|all_?reduce|cross_device_reduce|custom_?ar"),
    ("norm", r"rms_?norm|layer_?norm|norm_?kernel|normalization"),
    ("rope", r"rotary|rope\b|rope_|_rope|posids"),
    ("act", r"act_and_mul|silu|gelu|swiglu|swish|geglu"),
    ("kv_cache_write", r"index_put|scatter|reshape_and_cache|store_kv|set_kv|append_paged_kv"),
    (
        "attention",
        r"flash|fmha|sdpa|attention|attn|prepare_varlen|mha_|batchprefill|batchdecode|singleprefill|singledecode",
    ),
    ("embedding", r"embedding|index_select|indexselect"),
    ("gemm", r"nvjet|cublas|cutlass|xmma|gemm|ampere_|hopper_|wgmma|matmul"),
    ("copy", r"direct_copy|copy_kernel|memcpy|cast|convert|to_copy|_copy_|contiguous"),
    ("residual", r"add_kernel|addfunctor|functor_add|cudafunctor_add|\badd\b"),
)

_COMPILED = tuple((cls, re.compile(pat, re.IGNORECASE)) for cls, pat in KERNEL_CLASSES)

# Classes whose operator name does not depend on position.
_FIXED = {
    "rope": "rope",
    "kv_cache_write": "kv_cache_write",
    "attention": "attention",
    "act": "act",
    "copy": "copy",
    "all_reduce": "all_reduce",
    "embedding": "embedding",
    "other": "other",
}


def classify_kernel(name: str) -> str:
    """The class of a kernel from its (demangled or short) name; ``other`` when nothing matches."""
    for cls, pattern in _COMPILED:
        if pattern.search(name):
            return cls
    return "other"


class _LayerState:
    """Where a walk through one decoder layer stands: before attention, after it, after act."""

    def __init__(self) -> None:
        self.stage = "pre_attn"
        self.seen_o_proj = False
        self.seen_down = False

    def reset(self) -> None:
        self.stage, self.seen_o_proj, self.seen_down = "pre_attn", False, False

    def gemm(self) -> str:
        if self.stage == "pre_attn":
            return "qkv_proj"
        if self.stage == "post_attn":
            if not self.seen_o_proj:
                self.seen_o_proj = True
                return "o_proj"
            return "gate_up_proj"
        self.seen_down = True
        return "down_proj"

    def norm(self) -> str:
        if self.stage == "pre_attn":
            return "attn_norm"
        if self.stage == "post_attn" and not self.seen_down:
            return "mlp_norm"
        # A norm after the MLP starts the next layer.
        self.reset()
        return "attn_norm"

    def residual(self) -> str:
        return (
            "attn_residual" if self.stage == "post_attn" and not self.seen_down else "mlp_residual"
        )


def _walk(classes: Sequence[str], layers: Sequence[int | None]) -> list[str]:
    """Operator names for a sequence of classes, resetting the state at each new layer index."""
    state = _LayerState()
    current_layer: int | None = None
    out: list[str] = []
    for cls, layer in zip(classes, layers, strict=True):
        if layer is not None and layer != current_layer:
            state, current_layer = _LayerState(), layer
        if cls == "gemm":
            out.append(state.gemm())
        elif cls == "norm":
            out.append(state.norm())
        elif cls == "residual":
            out.append(state.residual())
        else:
            if cls == "attention" and state.stage == "pre_attn":
                state.stage = "post_attn"
            elif cls == "act" and state.stage == "post_attn":
                state.stage = "post_act"
            out.append(_FIXED[cls])
    return out


def _relabel_lm_head(classes: Sequence[str], ops: list[str], layers: Sequence[int | None]) -> None:
    """A last ``qkv_proj`` GEMM outside any known layer with no attention after it is the LM head
    (and the norm before it the final norm)."""
    gemms = [i for i, c in enumerate(classes) if c == "gemm"]
    if not gemms or ops[gemms[-1]] != "qkv_proj" or layers[gemms[-1]] is not None:
        return
    last = gemms[-1]
    if "attention" in classes[last + 1 :]:
        return
    ops[last] = "lm_head"
    for j in range(last - 1, -1, -1):
        if classes[j] == "norm":
            ops[j] = "final_norm"
            break
        if classes[j] == "gemm":
            break


def assign_operators(names: Sequence[str], layers: Sequence[int | None] | None = None) -> list[str]:
    """Operator name for each kernel of one run, in launch order, from names and order alone.

    ``layers`` (the ``i`` of ``Layer[i]#Run[j]`` per kernel, when known) resets the walk at
    each layer boundary; without it a norm after the MLP starts the next layer.
    """
    classes = [classify_kernel(n) for n in names]
    layer_list: Sequence[int | None] = layers if layers is not None else [None] * len(names)
    ops = _walk(classes, layer_list)
    _relabel_lm_head(classes, ops, layer_list)
    return ops


def operator_class(operator: str | None, name: str = "") -> str:
    """Kernel class of an operator (``gemm``, ``norm``, …), else of the kernel name itself."""
    if operator and operator in OPERATOR_CLASSES:
        return OPERATOR_CLASSES[operator]
    return classify_kernel(name) if name else "other"
