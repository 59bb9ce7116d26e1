"""Ground truth of the Hugging Face fixtures (tests/fixtures/h200_hf_*/truth.sqlite), read with SQL.

The truth capture's NVTX ranges name what the program is (scripts/foreign/hf_generate.py
``--truth``): ``M:<module path>`` per module call, ``F:<function>`` per wrapped function,
``STEP`` per top-level forward, ``GENERATE`` per generate() call.  Here each kernel of the last
generate() call gets the operator, layer and phase those ranges imply, by rules written out by
hand from the program's source (transformers 5.17's LlamaForCausalLM / Qwen3MoeForCausalLM), not
from rooflens's annotation table.
"""

from __future__ import annotations

import re
import sqlite3
from bisect import bisect_right
from dataclasses import dataclass
from pathlib import Path

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"

# Innermost module (its last path part, or two) → operator, from the model source.
_LEAF = {
    "embed_tokens": "embedding", "rotary_emb": "rope", "input_layernorm": "attn_norm",
    "q_proj": "q_proj", "k_proj": "k_proj", "v_proj": "v_proj", "o_proj": "o_proj",
    "q_norm": "qk_norm", "k_norm": "qk_norm", "post_attention_layernorm": "mlp_norm",
    "gate_proj": "gate_proj", "up_proj": "up_proj", "down_proj": "down_proj", "act_fn": "act",
    "norm": "final_norm", "lm_head": "lm_head", "self_attn": "attention",
}  # fmt: skip
_FUNCTION = {
    "F:apply_rotary_pos_emb": "rope",
    "F:scaled_dot_product_attention": "attention",
    "F:DynamicLayer.update": "kv_cache_write",
}
_LAYER = re.compile(r"^model\.layers\.(\d+)$")


@dataclass
class TruthKernel:
    name: str
    duration_s: float
    operator: str | None
    layer: int | None
    phase: str | None


def _ranges(db: sqlite3.Connection) -> list[tuple[int, int, str]]:
    return sorted(
        (int(s), int(e), str(t))
        for s, e, t in db.execute("SELECT start, end, text FROM NVTX_EVENTS WHERE eventType = 59")
    )


def _operator(stack: list[tuple[int, int, str]], t: int, moe: bool) -> str | None:
    """Operator of a kernel launched at ``t`` under ``stack`` (outermost first)."""
    names = [n for _, _, n in stack]
    fn = next((n for n in reversed(names) if n.startswith("F:")), None)
    mods = [n[2:] for n in names if n.startswith("M:")]
    if any(".mlp.experts" in m for m in mods):
        return "experts"  # the experts' own Linear/act children stay experts
    if any(m.endswith(".mlp.gate") for m in mods):
        return "router"
    if fn is not None:
        return _FUNCTION[fn]
    if not mods:
        return None  # STEP itself: mask and position set-up
    inner = mods[-1]
    leaf = inner.rsplit(".", 1)[-1]
    if leaf == "mlp":
        return "experts" if moe else "act"  # SiLU(gate)·up product / the MoE block's reshapes
    if leaf in _LEAF:
        return _LEAF[leaf]
    if _LAYER.match(inner):  # directly in the decoder layer: a residual add
        layer_call = next(r for r in reversed(stack) if r[2] == f"M:{inner}")
        return _residual_after(layer_call, inner, t)
    return None  # model.model itself


_CHILD_ENDS: dict[str, list[tuple[int, str]]] = {}


def _residual_after(layer_call: tuple[int, int, str], inner: str, t: int) -> str | None:
    """attn_residual after self_attn returned, mlp_residual after mlp returned."""
    ends = [(e, n) for e, n in _CHILD_ENDS[inner] if layer_call[0] <= e <= t]
    if not ends:
        return None
    last = max(ends)[1]
    return {"self_attn": "attn_residual", "mlp": "mlp_residual"}.get(last.rsplit(".", 1)[-1])


def truth_kernels(model: str) -> list[TruthKernel]:
    """Kernels of the last generate() call in launch order, with their true labels."""
    db = sqlite3.connect(FIXTURES / f"h200_hf_{model}" / "truth.sqlite")
    ranges = _ranges(db)
    gen = [r for r in ranges if r[2] == "GENERATE"][-1]
    steps = [r for r in ranges if r[2] == "STEP" and gen[0] <= r[0] <= gen[1]]
    _CHILD_ENDS.clear()
    for _, e, n in ranges:
        m = re.match(r"^M:(model\.layers\.\d+)\.(self_attn|mlp)$", n)
        if m:
            _CHILD_ENDS.setdefault(m.group(1), []).append((e, n))
    rows = db.execute(
        """SELECT r.start, k.end - k.start, s.value FROM CUPTI_ACTIVITY_KIND_KERNEL k
           JOIN CUPTI_ACTIVITY_KIND_RUNTIME r ON r.correlationId = k.correlationId
           JOIN StringIds s ON s.id = k.demangledName
           WHERE r.start BETWEEN ? AND ? ORDER BY r.start, k.start""",
        (gen[0], gen[1]),
    ).fetchall()
    starts = [s for s, _, _ in ranges]
    step_starts = [s for s, _, _ in steps]
    moe = model == "qwen3moe"
    out = []
    for t, dur, name in rows:
        stack = [r for r in ranges[: bisect_right(starts, t)] if r[1] >= t and r[0] <= t]
        k = bisect_right(step_starts, t) - 1
        in_step = k >= 0 and steps[k][1] >= t
        phase = None if k < 0 else ("prefill" if k == 0 else f"decode[{k}]")
        if in_step:
            op = _operator([r for r in stack if r[2] not in ("GENERATE", "STEP")], t, moe)
        else:
            op = "sampling" if k >= 0 else None  # between forwards: logits processing, choice
        layer = None
        for _, _, n in stack:
            m = re.match(r"^M:model\.layers\.(\d+)(\.|$)", n)
            if m:
                layer = int(m.group(1))
        out.append(TruthKernel(name, dur * 1e-9, op, layer, phase))
    return out
