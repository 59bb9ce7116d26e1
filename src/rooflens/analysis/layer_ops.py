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

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from rooflens.analysis.operators import KernelEntry, lookup

#: Name-table classes that are GEMM units (a GEMM plus its split-K reduction) for the walk.
_GEMM_CLASSES = frozenset({"gemm", "gemm_aux", "experts"})
#: Name-table operators that position never overrides.
_NAMED = frozenset(
    {"rope", "kv_cache_write", "attention", "act", "router", "experts", "all_reduce", "qk_norm"}
)
#: Primitive ops of a decomposed RMSNorm / of a rotary chain (PyTorch eager).
_NORM_OPS = frozenset({"pow", "mean", "rsqrt", "norm", "add_norm"})
_ROPE_OPS = frozenset({"mul", "add", "neg", "trig", "cat"})
_KV_OPS = frozenset({"cat", "scatter", "copy", "index"})


@dataclass
class Classes:
    """Per-kernel class facts of a stream, with the index arithmetic the walks need.

    ``_next[i]`` is the first GEMM row ≥ i and ``_prev[i]`` the last GEMM row < i (``n`` / -1
    for none), so every lookup is O(1); ``_cum[k]`` counts kernels of a kind before each row.
    """

    cls: list[str]
    op: list[str | None]
    named: list[str | None]
    name_ids: np.ndarray
    tokens: np.ndarray
    is_gemm: np.ndarray
    is_attention: np.ndarray
    _next: list[int]
    _prev: list[int]
    _cum: dict[str, np.ndarray]

    @property
    def n(self) -> int:
        return len(self.cls)

    def next_gemm(self, i: int, hi: int | None = None) -> int:
        """First GEMM row ≥ ``i`` (and < ``hi``), else -1."""
        nxt = self._next
        g = nxt[i] if i < len(nxt) else nxt[-1]
        return g if g < nxt[-1] and (hi is None or g < hi) else -1

    def prev_gemm(self, i: int, lo: int = 0) -> int:
        """Last GEMM row ≤ ``i`` (and ≥ ``lo``), else -1."""
        g = self._prev[i + 1]
        return g if g >= lo else -1

    def gemm_start(self, g: int) -> int:
        """First row of the GEMM unit holding row ``g`` (a split-K reduce belongs to its GEMM)."""
        while g > 0 and self.cls[g] == "gemm_aux" and self.is_gemm[g - 1]:
            g -= 1
        return g

    def gemm_end(self, g: int) -> int:
        """Row after the GEMM unit starting at ``g``."""
        j = g + 1
        while j < self.n and self.cls[j] == "gemm_aux":
            j += 1
        return j

    def count(self, what: str, a: int, b: int) -> int:
        """Kernels of kind ``what`` (``gemm``, ``sampling``, ``embedding``, ``norm``) in [a, b)."""
        c = self._cum[what]
        return int(c[max(b, a)] - c[a])

    def last_of(self, what: str, a: int, b: int) -> int:
        """Last row of kind ``what`` in [a, b), else -1."""
        c = self._cum[what]
        if c[b] == c[a]:
            return -1
        return int(np.searchsorted(c, c[b], side="left")) - 1

    def first_of(self, what: str, a: int, b: int) -> int:
        """First row of kind ``what`` in [a, b), else -1."""
        c = self._cum[what]
        if c[b] == c[a]:
            return -1
        return int(np.searchsorted(c, c[a] + 1, side="left")) - 1

    def op_is(self, i: int, *ops: str) -> bool:
        return self.op[i] in ops


def _is_class(cls: str, e: KernelEntry) -> bool:
    return e.cls == cls


def _tokens(name_ids: np.ndarray, grid: np.ndarray | None) -> np.ndarray:
    """One int64 per (name, grid): equal for kernels that match in a repeated pattern (a hash of
    the grid; a collision only merges two grids of the same kernel name)."""
    t = name_ids.astype(np.int64) << np.int64(32)
    if grid is not None and grid.size:
        g = grid.astype(np.int64)
        t = t + ((g[:, 0] * 73856093) ^ (g[:, 1] * 19349663) ^ (g[:, 2] * 83492791)) % (1 << 31)
    return t


def classify(
    name_ids: np.ndarray, strings: Sequence[str], grid: np.ndarray | None = None
) -> Classes:
    """Class, primitive op and named operator of every kernel (each distinct name looked up once)."""
    n = int(name_ids.size)
    uniq, inv = np.unique(name_ids, return_inverse=True)
    entries = [lookup(strings[int(u)]) for u in uniq.tolist()]
    inv = inv.reshape(-1)
    inv_list = inv.tolist()
    cls = [entries[i].cls for i in inv_list]
    op = [entries[i].op for i in inv_list]
    named = [entries[i].operator for i in inv_list]

    def per_kernel(pred: Callable[[KernelEntry], bool]) -> np.ndarray:
        return np.array([pred(e) for e in entries], dtype=bool)[inv] if n else np.zeros(0, bool)

    is_gemm = per_kernel(lambda e: e.cls in _GEMM_CLASSES)
    is_attention = per_kernel(lambda e: e.cls == "attention")
    unit = is_gemm & ~per_kernel(lambda e: e.cls == "gemm_aux")
    cum = {k: np.r_[0, np.cumsum(per_kernel(functools.partial(_is_class, k)))]
           for k in ("sampling", "embedding", "norm")}  # fmt: skip
    cum["gemm"] = np.r_[0, np.cumsum(unit)]
    rows = np.flatnonzero(unit)
    nxt = np.r_[rows, n][np.searchsorted(rows, np.arange(n + 1))]
    prv = np.r_[-1, rows][np.searchsorted(rows, np.arange(n + 1), side="left")]
    return Classes(cls, op, named, name_ids, _tokens(name_ids, grid), is_gemm, is_attention,
                   nxt.tolist(), prv.tolist(), cum)  # fmt: skip


@dataclass
class Labels:
    """Operator by position and confidence per kernel, filled by ranges step by step;
    :meth:`finish` then lets a name that names an operator win and records the evidence."""

    operator: list[str | None]
    evidence: list[str | None]
    confidence: np.ndarray

    @classmethod
    def empty(cls, n: int) -> Labels:
        return cls([None] * n, [None] * n, np.zeros(n))

    def set(self, c: Classes, i: int, operator: str, confidence: float) -> None:
        self.operator[i], self.confidence[i] = operator, confidence

    def fill(self, c: Classes, a: int, b: int, operator: str, confidence: float) -> None:
        if b > a:
            self.operator[a:b] = [operator] * (b - a)
            self.confidence[a:b] = confidence

    def finish(self, c: Classes) -> None:
        """Evidence per labelled kernel: ``name`` when the name-table's operator overrides the
        position, ``name+position`` when both say the same (a GEMM, a norm kernel in its place),
        ``position`` when only the place does."""
        for i, (pos, named) in enumerate(zip(self.operator, c.named, strict=True)):
            if pos is None:
                continue
            if named in _NAMED and named != pos:
                self.operator[i], self.evidence[i], self.confidence[i] = named, "name", 0.9
            elif named == pos or c.cls[i] in ("gemm", "gemm_aux", "norm"):
                self.evidence[i] = "name+position"
                self.confidence[i] = max(float(self.confidence[i]), 0.9)
            else:
                self.evidence[i] = "position"


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
