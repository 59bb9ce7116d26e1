"""Kernel name → kernel class and operator, from a table kept as data (``kernel_names.toml``).

A kernel's name says *what kind* of work it does (a GEMM, an attention kernel, a fused RMSNorm,
a PyTorch ``mul``); only a few names say which operator of the model it is (``vllm::
rotary_embedding_kernel`` is the rope, ``flashinfer::activation::act_and_mul_kernel`` the
activation).  Which GEMM is ``o_proj`` and which ``mul`` belongs to a decomposed RMSNorm is a
question of *position*: :mod:`rooflens.analysis.structure` answers it from the kernel stream.

Here, all pure functions over names:

* :func:`lookup` — the first table entry whose pattern matches: class, primitive op, operator.
* :func:`classify_kernel` — the coarse class older callers use (``gemm``, ``attention``, ``norm``,
  ``rope``, ``act``, ``kv_cache_write``, ``copy``, ``all_reduce``, ``residual``, ``embedding``,
  ``sampling``, ``router``, ``experts`` or ``other``).
* :func:`assign_operators` — a walk over one run's kernels in launch order for kernels that NVTX
  placed in a layer but did not name (``Layer[i]#Run[j]`` ranges only, the original SGLang report).
"""

from __future__ import annotations

import functools
import re
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources

from rooflens.vocab import OPERATOR_CLASSES

TABLE_FILE = "kernel_names.toml"


@dataclass(frozen=True)
class KernelEntry:
    """One row of ``kernel_names.toml``: the first whose pattern matches a name decides."""

    pattern: re.Pattern[str]
    cls: str
    op: str | None
    operator: str | None
    library: str


@cache
def table() -> tuple[KernelEntry, ...]:
    """The kernel-name table, in file order (first match wins)."""
    text = resources.files("rooflens.analysis").joinpath(TABLE_FILE).read_text(encoding="utf-8")
    rows = tomllib.loads(text)["kernel"]
    return tuple(
        KernelEntry(
            re.compile(r["pattern"].lower()),
            r["class"],
            r.get("op"),
            r.get("operator"),
            r.get("library", ""),
        )  # fmt: skip
        for r in rows
    )


_OTHER = KernelEntry(re.compile("$^"), "other", None, None, "")


@functools.lru_cache(maxsize=65536)
def lookup(name: str) -> KernelEntry:
    """The table entry for a kernel name (an ``other`` entry when nothing matches).

    Case-insensitive: the patterns are compiled lower-cased (they use only lower-case escapes,
    ``\\w`` ``\\d`` ``\\b``) and searched in the lower-cased name — 7x faster than
    ``re.IGNORECASE`` over long demangled names."""
    low = name.lower()
    for entry in table():
        if entry.pattern.search(low):
            return entry
    return _OTHER


# Fine classes of the table → the coarse classes of the legacy walk and the findings' advice.
_COARSE = {
    "gemm_aux": "gemm",
    "quant": "other",
    "init": "other",
    "elementwise": "other",
    "reduce": "other",
}


def classify_kernel(name: str) -> str:
    """The coarse class of a kernel from its (demangled or short) name; ``other`` when unknown.

    PyTorch ``index_put_`` (``scatter`` op) counts as ``kv_cache_write``: that is what it does
    in the engines that use it inside a layer (SGLang's token-to-KV pool).
    """
    e = lookup(name)
    if e.op == "scatter":
        return "kv_cache_write"
    if e.op == "silu":
        return "act"
    return _COARSE.get(e.cls, e.cls)


# Classes whose operator name does not depend on position.
_FIXED = {
    "rope": "rope",
    "kv_cache_write": "kv_cache_write",
    "attention": "attention",
    "act": "act",
    "copy": "copy",
    "all_reduce": "all_reduce",
    "embedding": "embedding",
    "sampling": "sampling",
    "router": "router",
    "experts": "experts",
    "other": "other",
}


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


def _walk(names: Sequence[str], classes: Sequence[str], layers: Sequence[int | None]) -> list[str]:
    """Operator names for a sequence of classes, resetting the state at each new layer index.

    A split-K reduction (``gemm_aux``) finishes the GEMM before it: same operator."""
    state = _LayerState()
    current_layer: int | None = None
    out: list[str] = []
    for name, cls, layer in zip(names, classes, layers, strict=True):
        if layer is not None and layer != current_layer:
            state, current_layer = _LayerState(), layer
        if cls == "gemm" and lookup(name).cls == "gemm_aux" and out:
            out.append(out[-1])
        elif cls == "gemm":
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
            out.append(_FIXED.get(cls, "other"))
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
    each layer boundary; without it a norm after the MLP starts the next layer.  Streams with
    no NVTX at all go through :func:`rooflens.analysis.structure.infer_structure` instead.
    """
    classes = [classify_kernel(n) for n in names]
    layer_list: Sequence[int | None] = layers if layers is not None else [None] * len(names)
    ops = _walk(names, classes, layer_list)
    _relabel_lm_head(classes, ops, layer_list)
    return ops


def operator_class(operator: str | None, name: str = "") -> str:
    """Kernel class of an operator (``gemm``, ``norm``, …), else of the kernel name itself."""
    if operator and operator in OPERATOR_CLASSES:
        return OPERATOR_CLASSES[operator]
    return classify_kernel(name) if name else "other"
