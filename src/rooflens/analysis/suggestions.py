"""Suggestions for finding groups, by rule and kernel class (data), so advice fits the kernel.

Small memory-moving kernels (norm, rope, activation, residual, KV-cache write, copy, embedding)
get the fusion that removes them whatever the symptom; GEMM and attention kernels get advice for
the symptom (shape/tiling, split-K, FP8; a flash/FlashInfer/split-KV kernel).  The English text
goes into report.json; templates/strings.toml ``[zh.suggestions]`` holds the same keys in zh.
"""

from __future__ import annotations

import re

# Kernel classes whose kernels move little data per launch: whatever the symptom, the fix is to
# fuse them with their neighbours.
FUSABLE_CLASSES = frozenset(
    {"norm", "rope", "act", "residual", "kv_cache_write", "copy", "embedding"}
)
# Suggestion per key (English; report.json carries it, strings.toml has the zh text).
SUGGESTIONS: dict[str, str] = {
    "launch_bound": "Capture the step with CUDA graphs (or torch.compile mode='reduce-overhead') "
    "so kernel launches stop leaving the GPU idle; process more tokens per launch.",
    "fragmented_operator": "Fuse the operator's kernels into one kernel (a library's fused "
    "kernel, a Triton kernel or torch.compile): each extra launch moves the same few bytes again.",
    "ncu": "Follow Nsight Compute's rule guidance for this kernel.",
    "fuse:norm": "Fuse the norm with its neighbours: one fused residual-add + RMSNorm kernel "
    "(FlashInfer fused_add_rmsnorm, vLLM fused_add_rms_norm) instead of separate add, pow, mean, "
    "rsqrt and mul kernels.",
    "fuse:norm:one": "The norm already runs as one kernel: fold the residual add into it (a "
    "fused add + RMSNorm: FlashInfer fused_add_rmsnorm, vLLM fused_add_rms_norm) or the norm into "
    "the next GEMM's prologue; what remains at this size is launch latency, which CUDA graphs hide.",
    "fuse:norm:done": "The norm already runs as one kernel fused with the residual add: little is "
    "left to fuse; at this size its time is launch latency (CUDA graphs hide it), or the next "
    "GEMM's prologue can absorb the normalisation.",
    "fuse:rope:one": "The rotary embedding already runs as one kernel: fold it into the QKV GEMM "
    "epilogue or the attention kernel (FlashInfer and FlashAttention-3 apply RoPE inside), or into "
    "the KV-cache write.",
    "fuse:act:one": "The activation already runs as one kernel: fold SiLU·mul into the gate_up "
    "GEMM epilogue or the down projection's prologue.",
    "fuse:kv_cache_write:one": "K and V are stored by one kernel: have the rope / QKV kernel "
    "write them straight into the cache (a reshape_and_cache-style fused store).",
    "fuse:rope": "Apply the rotary embedding to Q and K in one kernel (FlashInfer "
    "apply_rope_pos_ids, vLLM rotary_embedding) or in the QKV GEMM epilogue, instead of "
    "slice / mul / cat kernels.",
    "fuse:act": "Use one fused SiLU·mul kernel on the gate_up output (silu_and_mul / "
    "act_and_mul), or fold it into the down projection's prologue.",
    "fuse:residual": "Fold the residual add into the next norm (fused add + RMSNorm) or into the "
    "preceding GEMM's epilogue.",
    "fuse:kv_cache_write": "Write K and V straight into the cache from the rope / QKV kernel "
    "(a reshape_and_cache-style fused store) instead of separate copy / index_put kernels.",
    "fuse:copy": "Remove the copy or cast: let the producer write the layout and dtype the "
    "consumer needs (contiguous output, one dtype end to end, KV cache written in place).",
    "fuse:embedding": "The gather is tiny at this size: fuse it with the first norm, or amortise "
    "its launch with CUDA graphs.",
    "roof:gemm": "GEMM below its roof at this shape: a tile shape / split-K (or stream-K) that "
    "fills every SM for this M, N and K padded to multiples of 64/128, a fused epilogue (bias, "
    "activation, residual); when memory-bound, FP8 (or INT4) weights cut the bytes it reads.",
    "roof:attention": "Use an attention kernel suited to the shape: FlashAttention-3 / FlashInfer "
    "prefill (causal, varlen) for prefill, a split-KV (FlashDecoding) kernel for decode, with "
    "enough blocks for every SM at this batch and head count.",
    "roof:other": "Check what this kernel computes and whether the step needs it (sampling over "
    "every position instead of the last token, say); fuse it with its neighbours or drop it.",
    "latency_bound:gemm": "Too few thread blocks for the SMs: split-K / stream-K or a smaller "
    "tile, or more tokens per GEMM (larger batch).",
    "latency_bound:attention": "Too little parallelism for the SMs: split the KV sequence across "
    "blocks (split-KV / FlashDecoding) or batch more sequences.",
    "latency_bound:other": "Too little work per launch: fuse it with its neighbours or give it "
    "more tokens per launch; CUDA graphs cut the launch cost.",
    "low_occupancy:gemm": "Occupancy limited by registers or shared memory: a tile configuration "
    "with fewer stages or smaller tiles, or more blocks (split-K).",
    "low_occupancy:attention": "Occupancy limited: a variant with smaller tiles or fewer pipeline "
    "stages, or more blocks through split-KV.",
    "low_occupancy:other": "Raise occupancy: fewer registers per thread or less shared memory per "
    "block, or more blocks.",
    "low_l2_hit:gemm": "Operands are re-fetched from DRAM: a rasterisation / swizzle order that "
    "keeps tiles in L2, or a larger tile along the re-read dimension.",
    "low_l2_hit:attention": "K/V are re-read from DRAM per query tile: larger query tiles, or a "
    "kernel that shares K/V across the query heads of a group (GQA packing).",
}


# A fused norm kernel's name (vLLM fused_add_rms_norm, FlashInfer fused_add_rmsnorm, …): the
# residual add already runs inside it.
_FUSED_ADD_NORM = re.compile(r"fused_add|add_rms|add_layer_?norm|residual.*norm", re.IGNORECASE)


def suggestion_key(
    rule: str, source: str, cls: str, kernels_per_instance: float | None = None,
    names: tuple[str, ...] = (),
) -> str:  # fmt: skip
    """Key into :data:`SUGGESTIONS` for a rule on kernels of class ``cls``.

    Small memory-moving kernels (norm, rope, activation, …) get the fusion that removes them
    whatever the symptom; GEMM and attention kernels get advice for the symptom.  The advice
    fits what ran: an operator that already runs as one kernel per instance
    (``kernels_per_instance`` ≤ 1) is not told to fuse separate kernels; a norm whose kernel
    ``names`` show the residual add fused in is told that little is left.
    """
    if source == "ncu":
        return "ncu"
    if rule == "launch_bound":
        return rule
    if cls in FUSABLE_CLASSES:
        if kernels_per_instance is not None and kernels_per_instance <= 1:
            if cls == "norm" and any(_FUSED_ADD_NORM.search(n) for n in names):
                return "fuse:norm:done"
            if f"fuse:{cls}:one" in SUGGESTIONS:
                return f"fuse:{cls}:one"
        return f"fuse:{cls}"
    if rule in ("copy_cast", "fragmented_operator"):
        return "fuse:copy" if rule == "copy_cast" else rule
    family = "roof" if rule in ("far_from_roof", "below_roof") else rule
    for key in (f"{family}:{cls}", f"{family}:other"):
        if key in SUGGESTIONS:
            return key
    return "roof:other"
