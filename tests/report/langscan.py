"""Which English words a zh report still shows (test helper for the one-language check).

A zh report may show English only where no translation exists or is wanted: names that come
from the data (kernels, operators, NVTX ranges, models, GPUs, rule and metric identifiers, the
capture command), NCU's own rule text, units, and the technical terms below — each one the
usual word in Chinese GPU writing (kernel, GEMM, token) or a library or API name.
"""

from __future__ import annotations

import re
from typing import Any

from rooflens.vocab import OPERATOR_ALIASES, OPERATOR_NAMES

WORD = re.compile(r"[A-Za-z][A-Za-z0-9_]*")

TERMS = (
    set(
        # units and prefixes
        "s ms us ns B kB MB GB TB PB FLOP kFLOP MFLOP GFLOP TFLOP PFLOP FLOPs e"
        # hardware and profiler terms
        " GPU SM SMs DRAM HBM L1 L2 NCU NVTX NVTX_EVENTS Nsight Compute Nsys nsys CUDA Tensor Core MMA tile GEMM SOL"
        " Roofline roofline Prefill prefill Decode decode token kernel grid block thread warp cache"
        " n a KV Q K V M N QKV RoPE RMSNorm SiLU FP8 INT4 GQA dtype bias gather causal varlen"
        " epilogue prologue swizzle split stream packing"
        # settings shown by name, the precision label, report files and fields
        " batch_size input_len output_len W16 A16 KV16 report json html comparison findings"
        " Run Layer j i matplotlib pip install rooflens charts PyTorch Kineto kernels torch"
        # libraries and APIs the suggestions name
        " FlashInfer vLLM FlashAttention FlashDecoding torch compile mode reduce overhead Triton"
        " fused_add_rmsnorm fused_add_rms_norm apply_rope_pos_ids rotary_embedding silu_and_mul"
        " act_and_mul reshape_and_cache index_put slice mul cat add pow mean rsqrt gate_up"
        " graphs eager correlation trace MLA kv_b_proj all_reduce max_position_embeddings tp layers".split()
    )
    | set(OPERATOR_NAMES)
    | set(OPERATOR_ALIASES)
)
# Not words: group and name keys (G3, N7), versions (2.11.0+cu130), ISO timestamps, Markdown link targets, code spans.
_NOT_WORDS = re.compile(r"\b[GN]\d+\b|\d[\w.]*\+\w+|\d{4}-\d\d-\d\dT[\d:+.]+|\]\([^)]*\)|(`+).+?\1")


def data_words(doc: dict[str, Any]) -> set[str]:
    """Words that come from the data itself (names, identifiers, NCU's own text)."""
    texts: list[str] = []
    h, gpu, tl = doc.get("header") or {}, doc.get("gpu") or {}, doc.get("timeline") or {}
    texts += [str(h.get(k) or "") for k in ("model", "precision", "attention", "capture_command")]
    texts += [str(gpu.get(k) or "") for k in ("detected_name", "spec_key")]
    texts += [str(tl.get("chosen_run") or "")] + [r.get("name") or "" for r in tl.get("runs") or []]
    for k in (tl.get("kernels") or []) + (doc.get("kernels") or []):
        texts += [k.get("name") or "", k.get("short_name") or "", k.get("operator") or ""]
        texts += [str(k.get("phase") or "")] + list(k.get("nvtx") or [])
        for f in k.get("findings") or []:
            texts += [f.get("rule") or "", f.get("metric") or ""]
    comp = doc.get("comparison") or {}
    for f in comp.get("findings") or []:
        texts += [f.get("rule") or "", f.get("metric") or "", f.get("subject") or ""]
        texts += list((f.get("also") or {}).keys())
    for o in comp.get("operators") or []:
        texts += [o.get("name") or "", o.get("phase") or ""]
    for u in comp.get("unmatched_kernels") or []:
        texts += [u.get("operator") or ""]
    texts += [k.get("source") or "" for k in comp.get("kernel_operators") or []]  # evidence
    return {w for t in texts for w in WORD.findall(t)}


def ncu_texts(doc: dict[str, Any]) -> list[str]:
    """NCU's own rule messages (shown as NCU wrote them)."""
    out = {f.get("message") or "" for k in doc.get("kernels") or [] for f in k.get("findings") or []
           if f.get("source") == "ncu"}  # fmt: skip
    return sorted(out, key=len, reverse=True)


def english_words(text: str, doc: dict[str, Any]) -> set[str]:
    """ASCII words in ``text`` that are neither data, NCU's text, units nor listed terms."""
    for message in ncu_texts(doc):
        text = text.replace(message, " ")
    text = _NOT_WORDS.sub(" ", text)
    allowed = TERMS | data_words(doc)
    return {w for w in WORD.findall(text) if w not in allowed}
