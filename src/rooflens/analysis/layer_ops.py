"""Operators of one step's kernels from their classes and their place in the layer pattern.

Called by :mod:`rooflens.analysis.structure` once it knows where a step's layers start and end.
Inside a decoder layer the order is fixed by the model, whatever the engine:

``attn_norm`` → q/k/v GEMM(s) (``qk_norm`` between them in Qwen3) → ``rope`` → ``kv_cache_write``
→ ``attention`` → ``o_proj`` (first GEMM after attention) → ``attn_residual`` + ``mlp_norm`` →
``gate_proj``/``up_proj`` (or one ``gate_up_proj``) with ``act`` between/after → ``down_proj`` →
``mlp_residual``.  A mixture-of-experts MLP is ``router`` (its first GEMM, then softmax/top-k)
followed by ``experts``.  In front of layer 0: ``embedding`` (and the rotary tables, ``rope``);
after the last layer: ``final_norm``, ``lm_head`` (the GEMM(s) after it), then ``sampling``.

Each kernel's label records its evidence: ``name`` when the kernel-name table names the operator
(``vllm::rotary_embedding_kernel``), ``position`` when only its place does (a PyTorch ``mul``
inside the rotary chain), ``name+position`` when both agree (a GEMM's place among the GEMMs).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from rooflens.analysis.kernel_stream import Classes, Labels

#: Primitive ops of a decomposed RMSNorm (PyTorch eager) or a norm kernel.
_NORM_OPS = frozenset({"pow", "mean", "rsqrt", "norm", "add_norm"})


# --------------------------------------------------------------------------------------------
# Boundaries: where a step starts, where its last layer ends, where its sampling ends
# --------------------------------------------------------------------------------------------


def post_norm(c: Classes, last: int, hi: int) -> tuple[np.ndarray, int]:
    """Tokens between ``o_proj`` (the first GEMM after the attention call ending at ``last``)
    and the next GEMM — residual add + post-attention norm — and how many lead kernels are the
    residual add (0 where the engine fuses it into the norm)."""
    o = c.next_gemm(last + 1, hi)
    if o < 0:
        return np.zeros(0, dtype=np.int64), 0
    a = c.gemm_end(o)
    b = c.next_gemm(a, hi)
    if b < 0:
        return np.zeros(0, dtype=np.int64), 0
    return c.tokens[a:b], residual_len(c, a, b)


def residual_len(c: Classes, a: int, b: int) -> int:
    """Leading kernels of rows [a, b) that close the previous block rather than start the norm:
    tensor-parallel all-reduces, then one residual add (none where the norm kernel fuses it)."""
    i = a
    while i < b and c.cls[i] == "all_reduce":
        i += 1
    if i < b - 1 and c.op_is(i, "add"):
        i += 1
    return i - a if i < b else 0


def step_start(c: Classes, lo: int, layer0: int) -> int:
    """First row of a step whose layer 0 starts at ``layer0``: its embedding lookup, searched
    after the last sampling kernel in [lo, layer0); ``layer0`` itself when there is none."""
    s = c.last_of("sampling", lo, layer0)
    a = s + 1 if s >= 0 else lo
    for i in range(layer0 - 1, a - 1, -1):
        if c.cls[i] == "embedding" or c.op[i] == "index":
            return i
    return layer0


def last_layer_end(c: Classes, last_call: int, hi: int) -> int:
    """End of a step's last layer: the non-GEMM run after the MLP that repeats the residual +
    post-attention norm is the residual + final norm; the layer ends after its residual part.
    Fallback: in front of the last GEMM (the LM head) before the first sampling kernel."""
    seq, residual = post_norm(c, last_call, hi)
    o = c.next_gemm(last_call + 1, hi)
    if o < 0:
        return hi
    s = c.first_of("sampling", last_call, hi)
    stop = hi if s < 0 else s
    g = c.next_gemm(c.gemm_end(o), stop)
    units = []
    while g >= 0:
        units.append(g)
        e = c.gemm_end(g)
        nxt = c.next_gemm(e, stop)
        if nxt < 0:
            break
        if seq.size and nxt - e >= seq.size and np.array_equal(c.tokens[nxt - seq.size : nxt], seq):
            return nxt - seq.size + residual
        g = nxt
    if len(units) < 2:
        return hi if not units else c.gemm_end(units[-1])
    e = c.gemm_end(units[-2])
    return e + residual_len(c, e, units[-1])


def trailing_end(c: Classes, layers_end: int, prev: tuple[int, int] | None, next_first: int) -> int:
    """End of a run's last step (its last layer ends at ``layers_end``): after its LM head, as
    many kernels as the step before it (``prev`` = its layers end and end) had there — the same
    sampling / generate-loop sequence, by name — else through its last sampling kernel."""
    lm = c.next_gemm(layers_end, next_first)
    if lm < 0:
        return layers_end
    base = c.gemm_end(lm)
    plm = c.next_gemm(prev[0], prev[1]) if prev else -1
    if prev and plm >= 0:
        pb = c.gemm_end(plm)
        m = max(0, min(prev[1] - pb, next_first - base))
        same = c.name_ids[pb : pb + m] == c.name_ids[base : base + m]
        return base + (m if bool(same.all()) else int(np.argmin(same)))
    s = c.last_of("sampling", base, next_first)
    return s + 1 if s >= 0 else base


# --------------------------------------------------------------------------------------------
# Operators: prefix, layers, suffix
# --------------------------------------------------------------------------------------------


def label_step(
    c: Classes, first: int, layer_starts: Sequence[int], layers_end: int, end: int, out: Labels
) -> None:
    """Operator, evidence and confidence of every kernel of one step (rows [first, end))."""
    _label_prefix(c, first, layer_starts[0], out)
    bounds = [*layer_starts, layers_end]
    for a, b in zip(bounds, bounds[1:], strict=False):
        label_layer(c, a, b, out)
    _label_suffix(c, layers_end, end, out)


def _label_prefix(c: Classes, a: int, b: int, out: Labels) -> None:
    """Embedding lookup, then the rotary tables where the model computes them once per step."""
    rope = "trig" in c.op[a:b] or c.count("gemm", a, b) > 0
    for i in range(a, b):
        late = i > a and rope
        out.set(c, i, "rope" if late else "embedding", 0.6)


def _label_suffix(c: Classes, a: int, b: int, out: Labels) -> None:
    """Final norm up to the LM head GEMM, the LM head, then sampling / generate-loop kernels."""
    lm = c.next_gemm(a, b)
    if lm < 0:
        out.fill(c, a, b, "sampling", 0.5)
        return
    out.fill(c, a, lm, "final_norm", 0.8)
    e = c.gemm_end(lm)
    out.fill(c, lm, e, "lm_head", 0.9)
    out.fill(c, e, b, "sampling", 0.7)


def _units(c: Classes, a: int, b: int) -> list[tuple[int, int]]:
    """GEMM units (start, end) in rows [a, b)."""
    units = []
    g = c.next_gemm(a, b)
    while g >= 0:
        e = min(c.gemm_end(g), b)
        units.append((g, e))
        g = c.next_gemm(e, b)
    return units


def label_layer(c: Classes, a: int, b: int, out: Labels) -> None:
    """Operators of one decoder layer's rows [a, b) (module docstring: the fixed order)."""
    att = (np.flatnonzero(c.is_attention[a:b]) + a).tolist()
    if not att:
        return  # not a decoder layer (layers are cut around attention calls): no operator
    first_att = att[0]
    g = c.next_gemm(first_att, b)
    last_att = max(i for i in att if g < 0 or i < g)
    _label_pre_attention(c, a, first_att, out)
    out.fill(c, first_att, last_att + 1, "attention", 0.9)
    units = _units(c, last_att + 1, b)
    if not units:
        out.fill(c, last_att + 1, b, "attention", 0.5)
        return
    o_start, o_end = units[0]
    out.fill(c, last_att + 1, o_start, "attention", 0.6)
    out.fill(c, o_start, o_end, "o_proj", 0.9)
    if len(units) == 1:
        out.fill(c, o_end, b, "attn_residual", 0.5)
        return
    mlp_start = units[1][0]
    residual = residual_len(c, o_end, mlp_start)
    out.fill(c, o_end, o_end + residual, "attn_residual", 0.8)
    out.fill(c, o_end + residual, mlp_start, "mlp_norm", 0.8)
    _label_mlp(c, units[1:], b, out)


def _qkv_names(k: int) -> list[str]:
    return ["q_proj", "k_proj", "v_proj"] if k == 3 else ["qkv_proj"] * k


def _label_pre_attention(c: Classes, a: int, b: int, out: Labels) -> None:
    """Input norm, the q/k/v GEMMs (q/k norms between them), then rope and KV-cache writes."""
    units = _units(c, a, b)
    if not units:
        _label_rope_kv(c, a, b, out)
        return
    out.fill(c, a, units[0][0], "attn_norm", 0.8)
    names = _qkv_names(len(units))
    for k, ((gs, ge), name) in enumerate(zip(units, names, strict=True)):
        out.fill(c, gs, ge, name, 0.9)
        nxt = units[k + 1][0] if k + 1 < len(units) else None
        if nxt is not None:
            norm = any(c.op[i] in _NORM_OPS or c.cls[i] == "norm" for i in range(ge, nxt))
            out.fill(c, ge, nxt, "qk_norm" if norm else name, 0.7)
    _label_rope_kv(c, units[-1][1], b, out)


def _label_rope_kv(c: Classes, a: int, b: int, out: Labels) -> None:
    """Rows between the projections and attention: the rotary chain up to its last arithmetic
    kernel, then KV-cache writes (a ``cat``/scatter/copy), then copies feeding attention."""
    arith = [
        i for i in range(a, b) if c.op[i] in ("mul", "add", "neg", "trig") or c.cls[i] == "rope"
    ]
    j = arith[-1] if arith else a - 1
    out.fill(c, a, j + 1, "rope", 0.7)
    tail = range(j + 1, b)
    has_write = any(c.op[i] in ("cat", "scatter") or c.cls[i] == "kv_cache_write" for i in tail)
    for i in tail:
        plain_copy = c.op[i] == "copy" and has_write
        norm = c.op[i] in _NORM_OPS or c.cls[i] == "norm"
        op = "attention" if plain_copy else "qk_norm" if norm else "kv_cache_write"
        out.set(c, i, op, 0.6)


def _routing_end(c: Classes, i: int, hi: int) -> int:
    """After the router's top-k: its weights' renormalisation (a sum, a division, a cast back
    to the activation dtype — ``norm_topk_prob``) still routes."""
    if i < hi and c.op[i] == "reduce":
        i += 1
        while i < hi and c.op[i] == "mul":
            i += 1
        if i < hi and c.op[i] == "copy":
            i += 1
    return i


def _label_mlp(c: Classes, units: list[tuple[int, int]], b: int, out: Labels) -> None:
    """Dense MLP (gate/up, act, down) or mixture of experts (router, experts), then residual."""
    last_end = units[-1][1]
    tail = list(range(last_end, b))
    res = tail[-1] if tail and c.op_is(tail[-1], "add") else None
    region = range(units[0][0], last_end)
    moe = len(units) > 3 or any(
        c.cls[i] in ("router", "experts") or c.op[i] in ("softmax", "topk") for i in region
    )
    if moe:
        rs, re_ = units[0]
        routed = c.cls[rs] == "experts"
        out.fill(c, rs, re_, "experts" if routed else "router", 0.8)
        nxt = units[1][0] if len(units) > 1 else last_end
        # Routing (softmax / top-k) ends at its last such kernel; then the experts' set-up.
        route = [
            i for i in range(re_, nxt) if c.op[i] in ("softmax", "topk") or c.cls[i] == "router"
        ]
        r_end = _routing_end(c, route[-1] + 1, nxt) if route and not routed else re_
        out.fill(c, re_, r_end, "router", 0.6)
        out.fill(c, r_end, b if res is None else res, "experts", 0.7)
    else:
        names = {1: ["down_proj"], 2: ["gate_up_proj", "down_proj"]}.get(
            len(units), ["gate_proj", "up_proj", "down_proj"]
        )
        for k, ((gs, ge), name) in enumerate(zip(units, names, strict=True)):
            out.fill(c, gs, ge, name, 0.9)
            nxt = units[k + 1][0] if k + 1 < len(units) else last_end
            out.fill(c, ge, nxt, "act", 0.7)
        out.fill(c, last_end, b if res is None else res, "act", 0.5)
    if res is not None:
        out.set(c, res, "mlp_residual", 0.8)
