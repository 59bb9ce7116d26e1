"""The operator graph: FLOPs and minimum DRAM bytes of every operator of one step, per GPU.

Formulas are REPORT_SPEC section 一 (docs/predict.md derives each one).  A *step* is the
prefill or one decode step; its per-sequence attention sizes (keys attended, key positions
read, score elements) may be numpy arrays over decode steps, so the KV-cache growth of all
decode steps is evaluated in one pass.  Only ``attention`` depends on the context length.
Operator names are the NVTX names of docs/architecture.md.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Union

import numpy as np
import numpy.typing as npt

from rooflens.errors import RooflensError
from rooflens.model.architecture import Architecture
from rooflens.predict.workload import Workload

Num = Union[float, npt.NDArray[np.float64]]  # noqa: UP007 - runtime alias

Q_TILE = 128  # query rows per flash-attention tile: K and V are re-read once per tile
NORM_FLOPS = {"rms": 4.0, "layer": 7.0}  # per element; LayerNorm adds mean-centring and a shift
ACT_FLOPS = {"gated": 5.0}  # SiLU(gate)·up per element (REPORT_SPEC)
PLAIN_ACT_FLOPS = {"relu": 1.0}  # other plain activations (GELU variants): 8 per element
SOFTMAX_FLOPS = 5.0
ROPE_FLOPS = 3.0
ROUTER_SOFTMAX_FLOPS = 5.0  # per router logit: softmax/sigmoid + top-k selection
SAMPLING_FLOPS = 1.0  # per logit: one compare (argmax); penalties and softmax add a few more


@dataclass(frozen=True)
class Op:
    """One operator instance: FLOPs, minimum DRAM bytes and interconnect bytes (per GPU).

    ``dtype`` overrides the workload's compute dtype for the peak (the 16-bit LM head of a
    quantised model).  ``gemm`` is (M, N, K) of a plain GEMM, for the calibrated time
    (:mod:`rooflens.predict.attainable`); None for other operators.
    """

    name: str
    flops: Num
    bytes: Num
    comm_bytes: float = 0.0
    dtype: str | None = None
    gemm: tuple[float, float, float] | None = None
    #: The kernel plan where the name does not say it (rooflens.predict.attainable): a plain
    #: MLP's activation is one elementwise kernel (``act_plain``), a gated one's two; a
    #: LayerNorm (``layer_norm``) is slower than an RMSNorm of the same bytes.
    kernels_as: str | None = None


@dataclass(frozen=True)
class Step:
    """Sizes of one step.  ``keys_sum``: keys attended summed over a sequence's queries (per
    head); ``kv_read``: key positions whose K/V are read (per sequence, per KV head);
    ``score``: elements of the materialised score matrix (eager only, per sequence and head)."""

    batch: int
    q_len: int
    keys_sum: Num
    kv_read: Num
    score: Num
    decode: bool

    @property
    def tokens(self) -> int:
        """Tokens processed by the step: b·s in prefill, b in decode."""
        return self.batch * self.q_len


@dataclass(frozen=True)
class Dims:
    """Per-GPU sizes after tensor parallelism, and bytes per element."""

    h: int
    heads: float
    kv_heads: float
    d: int
    dv: int
    inter: float
    moe_inter: float
    shared_inter: float
    vocab: float
    w: float
    a: float
    kv: float
    group: int
    scale: float
    head_w: float
    head_dtype: str
    tp: int


def make_dims(arch: Architecture, wl: Workload) -> Dims:
    """Split heads, MLP widths and vocabulary over ``wl.tp`` GPUs (KV heads fewer than GPUs are
    replicated, one per GPU)."""
    tp = wl.tp
    if arch.num_heads % tp:
        raise RooflensError(f"--tp {tp} does not divide the {arch.num_heads} attention heads")
    if arch.num_kv_heads >= tp and arch.num_kv_heads % tp:
        raise RooflensError(f"--tp {tp} does not divide the {arch.num_kv_heads} KV heads")
    p = wl.precision
    return Dims(
        h=arch.hidden_size,
        heads=arch.num_heads / tp,
        kv_heads=max(1.0, arch.num_kv_heads / tp),
        d=arch.head_dim,
        dv=arch.attention_v_head_dim,
        inter=arch.intermediate_size / tp,
        moe_inter=arch.moe_intermediate_size / tp,
        shared_inter=arch.shared_expert_intermediate_size / tp,
        vocab=arch.vocab_size / tp,
        w=p.weight_bytes,
        a=p.act_bytes,
        kv=p.kv_bytes,
        group=p.group_size,
        scale=p.scale_bytes,
        head_w=p.head_weight_bytes,
        head_dtype=p.head_dtype,
        tp=tp,
    )


def weight_bytes(dm: Dims, n_in: float, n_out: float) -> float:
    """Bytes of an ``n_in × n_out`` weight matrix, with group-quantisation scales if any."""
    scales = n_in * n_out / dm.group * dm.scale if dm.group else 0.0
    return n_in * n_out * dm.w + scales


def linear(name: str, dm: Dims, tokens: float, n_in: float, n_out: float) -> Op:
    """GEMM of ``tokens`` rows: 2·T·in·out FLOPs; weights once + input and output activations."""
    nbytes = weight_bytes(dm, n_in, n_out) + tokens * (n_in + n_out) * dm.a
    return Op(name, 2.0 * tokens * n_in * n_out, nbytes, gemm=(tokens, n_out, n_in))


def norm(name: str, arch: Architecture, dm: Dims, tokens: float, width: float) -> Op:
    """RMSNorm/LayerNorm over ``tokens × width``: reads and writes the activations once."""
    plan = "layer_norm" if arch.norm == "layer" else None
    return Op(name, NORM_FLOPS[arch.norm] * tokens * width, 2.0 * tokens * width * dm.a,
              kernels_as=plan)  # fmt: skip


def residual(name: str, dm: Dims, tokens: float) -> Op:
    """Residual add: 1 FLOP per element, reads two T·h tensors and writes one."""
    return Op(name, float(tokens * dm.h), 3.0 * tokens * dm.h * dm.a)


#: All-reduces per tensor-parallel layer: after attention (o_proj) and after the MLP (down_proj).
ALL_REDUCES_PER_LAYER = 2


def ring_factor(gpus: int) -> float:
    """Bytes each GPU sends per message byte in a ring all-reduce over ``gpus`` GPUs: 2(N−1)/N
    (also nccl-tests' factor from algorithm to bus bandwidth)."""
    return 2.0 * (gpus - 1) / gpus


def all_reduce_message_bytes(comm_bytes: float, tp: int) -> float:
    """Bytes of one all-reduce message (the T·h activations) from an ``all_reduce`` operator's
    ``comm_bytes`` per layer and step (:func:`all_reduce`)."""
    return comm_bytes / ALL_REDUCES_PER_LAYER / ring_factor(tp)


def all_reduce(dm: Dims, tokens: float) -> Op:
    """The layer's two all-reduces (after attention and after the MLP), ring algorithm: each
    GPU sends 2·(N−1)/N of the T·h activations per all-reduce."""
    per = ring_factor(dm.tp) * tokens * dm.h * dm.a
    return Op("all_reduce", 0.0, 0.0, comm_bytes=ALL_REDUCES_PER_LAYER * per)


def attention(dm: Dims, st: Step, heads: float, d_qk: float, d_v: float, kv_row_bytes: float) -> Op:
    """Flash (or eager) attention: QKᵀ and PV 2·b·H·(d_qk+d_v)·Σkeys FLOPs + softmax 5 per score.

    Bytes: Q read and O written once; K/V rows of ``kv_row_bytes`` (all KV heads of one key
    position) read per query tile; eager mode also writes and reads the score matrix.
    """
    b = st.batch
    flops = b * heads * ((2.0 * (d_qk + d_v) + SOFTMAX_FLOPS) * st.keys_sum)
    q_o = st.tokens * heads * (d_qk + d_v) * dm.a
    nbytes = q_o + b * st.kv_read * kv_row_bytes + 2.0 * b * heads * st.score * dm.a
    return Op("attention", flops, nbytes)


def attention_block(arch: Architecture, dm: Dims, st: Step) -> list[Op]:
    """attn_norm … o_proj for standard (MHA/GQA/MQA) attention."""
    t = st.tokens
    hq, hkv, d = dm.heads, dm.kv_heads, dm.d
    ops = [
        norm("attn_norm", arch, dm, t, dm.h),
        linear("qkv_proj", dm, t, dm.h, (hq + 2 * hkv) * d),
    ]
    if arch.qk_norm:  # Qwen3, OLMo2, Gemma3: RMSNorm of every query and key head (head_dim wide)
        ops.append(norm("qk_norm", arch, dm, t, (hq + hkv) * d))
    if arch.position == "rope":
        n = t * (hq + hkv) * d
        ops.append(Op("rope", ROPE_FLOPS * n, 2.0 * n * dm.a))
    ops.append(Op("kv_cache_write", 0.0, t * hkv * d * 2 * dm.kv))
    ops.append(attention(dm, st, hq, d, dm.dv, hkv * (d + dm.dv) * dm.kv))
    ops.append(linear("o_proj", dm, t, hq * dm.dv, dm.h))
    return ops


def mla_block(arch: Architecture, dm: Dims, st: Step) -> list[Op]:
    """Multi-head latent attention (DeepSeek).  Prefill decompresses K/V with kv_b_proj and runs
    MHA; decode absorbs kv_b_proj into q and o and attends over the cached latent (one row of
    kv_lora_rank + rope dims per position, read once for K and V)."""
    t, hq, r, rope = st.tokens, dm.heads, arch.kv_lora_rank, arch.qk_rope_head_dim
    nope, dv = arch.qk_nope_head_dim, arch.v_head_dim
    ops = [norm("attn_norm", arch, dm, t, dm.h)]
    if arch.q_lora_rank:
        ops.append(linear("q_a_proj", dm, t, dm.h, arch.q_lora_rank))
        ops.append(norm("q_a_norm", arch, dm, t, arch.q_lora_rank))
        ops.append(linear("q_b_proj", dm, t, arch.q_lora_rank, hq * (nope + rope)))
    else:
        ops.append(linear("q_proj", dm, t, dm.h, hq * (nope + rope)))
    ops.append(linear("kv_a_proj", dm, t, dm.h, r + rope))
    ops.append(norm("kv_a_norm", arch, dm, t, r))
    n = t * (hq + 1) * rope
    ops.append(Op("rope", ROPE_FLOPS * n, 2.0 * n * dm.a))
    ops.append(Op("kv_cache_write", 0.0, t * (r + rope) * dm.kv))
    if st.decode:
        absorb = 2.0 * t * hq * r * (nope + dv)
        act = t * hq * (nope + 2 * r + dv) * dm.a
        ops.append(Op("kv_b_proj", absorb, weight_bytes(dm, r, hq * (nope + dv)) + act))
        ops.append(attention(dm, st, hq, r + rope, r, (r + rope) * dm.kv))
    else:
        ops.append(linear("kv_b_proj", dm, t, r, hq * (nope + dv)))
        ops.append(attention(dm, st, hq, nope + rope, dv, hq * (nope + rope + dv) * dm.a))
    ops.append(linear("o_proj", dm, t, hq * dv, dm.h))
    return ops


def dense_mlp(arch: Architecture, dm: Dims, t: float) -> list[Op]:
    """gate_up_proj → act → down_proj (a plain MLP's single up matrix is named gate_up_proj)."""
    i = dm.inter
    if arch.mlp == "gated":
        act = Op("act", ACT_FLOPS["gated"] * t * i, 3.0 * t * i * dm.a)
        return [
            linear("gate_up_proj", dm, t, dm.h, 2 * i),
            act,
            linear("down_proj", dm, t, i, dm.h),
        ]
    per = PLAIN_ACT_FLOPS.get(arch.hidden_act, 8.0)
    act = Op("act", per * t * i, 2.0 * t * i * dm.a, kernels_as="act_plain")
    return [linear("gate_up_proj", dm, t, dm.h, i), act, linear("down_proj", dm, t, i, dm.h)]


def experts_touched(num_experts: int, top_k: int, tokens: float) -> float:
    """Expected distinct experts hit by ``tokens`` tokens routing to ``top_k`` of ``num_experts``
    uniformly: E·(1 − (1 − k/E)^T); at most E, k for one token."""
    return num_experts * (1.0 - (1.0 - top_k / num_experts) ** tokens)


def gated_ffn(name: str, dm: Dims, pairs: float, width: float, mats: float) -> Op:
    """A gated MLP of ``width`` over ``pairs`` token rows with ``mats`` weight matrices' worth
    of weights read: gate_up + SiLU·mul + down fused into one operator."""
    flops = pairs * (6.0 * dm.h * width + ACT_FLOPS["gated"] * width)
    nbytes = mats * weight_bytes(dm, dm.h, width) + pairs * (2.0 * dm.h + 6.0 * width) * dm.a
    return Op(name, flops, nbytes)


def moe_mlp(arch: Architecture, dm: Dims, t: float) -> list[Op]:
    """router → experts (top-k per token, weights of the experts touched) → shared_experts."""
    e, k = arch.num_experts, arch.top_k
    router_flops = 2.0 * t * dm.h * e + ROUTER_SOFTMAX_FLOPS * t * e
    router_bytes = dm.h * e * dm.head_w + t * (dm.h + e) * dm.a  # router weights stay 16-bit
    ops = [Op("router", router_flops, router_bytes, gemm=(t, e, dm.h))]
    ops.append(gated_ffn("experts", dm, t * k, dm.moe_inter, 3.0 * experts_touched(e, k, t)))
    if dm.shared_inter:
        ops.append(gated_ffn("shared_experts", dm, t, dm.shared_inter, 3.0))
    return ops


def layer_ops(arch: Architecture, dm: Dims, st: Step, moe: bool) -> list[Op]:
    """Every operator of one decoder layer for one step, in execution order."""
    t = st.tokens
    ops = mla_block(arch, dm, st) if arch.is_mla else attention_block(arch, dm, st)
    ops.append(residual("attn_residual", dm, t))
    ops.append(norm("mlp_norm", arch, dm, t, dm.h))
    ops.extend(moe_mlp(arch, dm, t) if moe else dense_mlp(arch, dm, t))
    ops.append(residual("mlp_residual", dm, t))
    if dm.tp > 1:
        ops.append(all_reduce(dm, t))
    return ops


def model_ops(arch: Architecture, dm: Dims, st: Step) -> tuple[list[Op], list[Op]]:
    """Once-per-model operators: (embedding before the layers, final_norm + lm_head + sampling after).

    The LM head runs on the last token of each sequence in prefill (b rows) and on every
    token in decode (b rows); the final norm on all T tokens.
    """
    t = st.tokens
    rows = 2.0 if arch.position == "learned" else 1.0  # learned positions: a second gather + add
    emb = Op("embedding", (rows - 1.0) * t * dm.h, t * dm.h * (rows * dm.head_w + dm.a))
    head = linear("lm_head", dm, st.batch, dm.h, dm.vocab)
    head_bytes = dm.h * dm.vocab * dm.head_w + st.batch * (dm.h + dm.vocab) * dm.a
    lm_head = Op("lm_head", head.flops, head_bytes, dtype=dm.head_dtype, gemm=head.gemm)
    return [emb], [norm("final_norm", arch, dm, t, dm.h), lm_head, sampling(dm, st.batch)]


def sampling(dm: Dims, rows: float) -> Op:
    """The generate loop's own kernels after the LM head (logits processing, greedy or sampled
    choice of the next token): at least one pass over the ``rows × vocab`` logits, about
    ``SAMPLING_FLOPS`` per logit; writes one token id (8 bytes) per row."""
    n = rows * dm.vocab
    return Op("sampling", SAMPLING_FLOPS * n, n * dm.a + 8.0 * rows)


def prefill_step(arch: Architecture, wl: Workload) -> Step:
    """The prefill of s tokens per sequence, causal, no cached prefix."""
    s, win = wl.input_len, arch.sliding_window or math.inf
    if wl.attention == "eager":
        return Step(wl.batch, s, float(s * s), float(s), float(s * s), decode=False)
    if win >= s:
        keys = s * (s + 1) / 2.0
    else:  # Σ_p min(p+1, W)
        w = int(win)
        keys = w * (w + 1) / 2.0 + (s - w) * w
    starts = np.arange(0, s, Q_TILE, dtype=float)  # tile j reads the keys its causal window sees
    ends = np.minimum(starts + Q_TILE, s)
    read = float((ends - np.maximum(0.0, starts - win + 1)).sum())
    return Step(wl.batch, s, keys, read, 0.0, decode=False)


def decode_step(arch: Architecture, wl: Workload, keys: Num) -> Step:
    """A decode step whose new token attends ``keys`` positions (its own included)."""
    if arch.sliding_window:
        keys = np.minimum(keys, arch.sliding_window)
    score = keys if wl.attention == "eager" else 0.0
    return Step(wl.batch, 1, keys, keys, score, decode=True)
