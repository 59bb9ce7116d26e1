"""One home for the names every stage shares: operators, their aliases and classes, the NVTX
run / phase / layer patterns, and dtype → precision.

Why one module: the predictor names operators, the built-in workload marks them as NVTX ranges,
capture-time annotation of foreign programs emits the same ranges, the timeline reads them back
and the comparison joins on them.  A name defined twice drifts (it did: five copies of the
operator list, three parsers of the NVTX stack, two meanings of ``bf16``).  Everything here is
plain data plus tiny pure functions; the module imports nothing from rooflens.
"""

from __future__ import annotations

import re

# --------------------------------------------------------------------------------------------
# Operators
# --------------------------------------------------------------------------------------------

#: Predictor operator → kernel class (``gemm``, ``attention``, ``norm``, ``rope``, ``act``,
#: ``kv_cache_write``, ``residual``, ``embedding``, ``copy``, ``all_reduce``, ``sampling``).  The
#: keys are every operator name the predictor, the built-in workload or an attribution can give;
#: the class decides which advice fits a kernel far from its roof.
OPERATOR_CLASSES: dict[str, str] = {
    "embedding": "embedding",
    "attn_norm": "norm",
    "qkv_proj": "gemm",
    "q_proj": "gemm",
    "k_proj": "gemm",
    "v_proj": "gemm",
    "q_a_proj": "gemm",
    "q_b_proj": "gemm",
    "kv_a_proj": "gemm",
    "kv_b_proj": "gemm",
    "q_a_norm": "norm",
    "kv_a_norm": "norm",
    "qk_norm": "norm",
    "rope": "rope",
    "kv_cache_write": "kv_cache_write",
    "attention": "attention",
    "softmax": "attention",
    "o_proj": "gemm",
    "all_reduce": "all_reduce",
    "attn_residual": "residual",
    "mlp_norm": "norm",
    "gate_up_proj": "gemm",
    "gate_proj": "gemm",
    "up_proj": "gemm",
    "act": "act",
    "down_proj": "gemm",
    "router": "gemm",
    "experts": "gemm",
    "shared_experts": "gemm",
    "mlp_residual": "residual",
    "final_norm": "norm",
    "lm_head": "gemm",
    "sampling": "sampling",
    "copy": "copy",
}

#: Every operator name, in the order a decoder layer runs them (tables list them so).
OPERATOR_NAMES: tuple[str, ...] = tuple(OPERATOR_CLASSES)

#: Names the built-in workload uses as NVTX ranges (docs/architecture.md); a test checks the
#: workload and the predictor against this set.
WORKLOAD_OPERATORS = frozenset(
    "embedding attn_norm qkv_proj qk_norm rope kv_cache_write attention o_proj attn_residual "
    "mlp_norm gate_up_proj act down_proj mlp_residual router experts shared_experts final_norm "
    "lm_head sampling all_reduce".split()
)

#: Operators that run once per step for the whole model (not per decoder layer).
MODEL_OPERATORS = frozenset({"embedding", "final_norm", "lm_head", "sampling"})

#: Operators a fused kernel may implement together: the measurement names the fused operator,
#: the prediction may list the parts (same totals, REPORT_SPEC).
OPERATOR_ALIASES: dict[str, str] = {
    "q_proj": "qkv_proj",
    "k_proj": "qkv_proj",
    "v_proj": "qkv_proj",
    "gate_proj": "gate_up_proj",
    "up_proj": "gate_up_proj",
    "softmax": "attention",
    # The range the built-in workload puts around its argmax (and every capture of it so far).
    "sample": "sampling",
}


def canonical_operator(name: str) -> str:
    """The operator name used for joining (``q_proj`` → ``qkv_proj``)."""
    return OPERATOR_ALIASES.get(name, name)


def operator_class_of(operator: str | None) -> str | None:
    """Kernel class of a known operator, else None."""
    return OPERATOR_CLASSES.get(operator) if operator else None


# --------------------------------------------------------------------------------------------
# NVTX structure: Run[j] > prefill | decode[k] > Layer[i]#Run[j] > <operator>
# --------------------------------------------------------------------------------------------

RUN_RE = re.compile(r"^Run\[(\d+)\]$")
LAYER_RUN_RE = re.compile(r"^Layer\[(\d+)\]#Run\[(\d+)\]$")
LAYER_RE = re.compile(r"Layer\[(\d+)\]")
PHASE_RE = re.compile(r"^(prefill|decode(?:\[\d+\])?)$")
DECODE_RE = re.compile(r"^decode(\[\d+\])?$|^decode_")
#: The marker around the representative kernels Nsight Compute profiles in run j (``ncu#Run[j]``:
#: its prefill and a few decode steps, first and last layer; docs/capture.md).
NCU_SAMPLE_RE = re.compile(r"^ncu#Run\[(\d+)\]$")
#: One routed expert's iteration inside ``experts`` (:func:`expert_range`).
EXPERT_RE = re.compile(r"^expert\[(\d+)\]$")
#: Range names that only say where a kernel ran (run, layer, phase, ncu sample, which expert of
#: a mixture-of-experts layer), not what it does.
STRUCTURAL_RANGE_RE = re.compile(
    r"^(Run\[\d+\]|Layer\[\d+\](#Run\[\d+\])?|prefill|decode(\[\d+\])?|ncu#Run\[\d+\]"
    r"|expert\[\d+\])$"
)


def operator_of_range(name: str) -> str | None:
    """The operator an NVTX range names: its last ``.``/``/``-separated part when that is an
    operator name (``Layer[0]#Run[2]/qkv_proj``, ``mlp.act`` → ``qkv_proj``, ``act``), else None."""
    leaf = re.split(r"[./]", name)[-1]
    return leaf if leaf in OPERATOR_CLASSES else None


def run_range(run: int) -> str:
    """NVTX name of run ``run``."""
    return f"Run[{run}]"


def layer_range(layer: int, run: int) -> str:
    """NVTX name of layer ``layer`` in run ``run`` (the original SGLang report's form)."""
    return f"Layer[{layer}]#Run[{run}]"


def ncu_sample_range(run: int) -> str:
    """NVTX name of the marker around run ``run``'s representative kernels (profiled by ncu)."""
    return f"ncu#Run[{run}]"


def expert_range(expert: int) -> str:
    """NVTX name of one routed expert's iteration inside ``experts`` (structural: the operator
    stays ``experts``; the index lets counters pass between experts that do the same work)."""
    return f"expert[{expert}]"


def phase_range(step: int) -> str:
    """NVTX name of generation step ``step``: 0 is the prefill, k ≥ 1 the k-th decode step."""
    return "prefill" if step == 0 else f"decode[{step}]"


def step_of(phase: str | None) -> int:
    """0 for the prefill, k for ``decode[k]`` (1 for a bare ``decode``)."""
    if not phase or canonical_phase(phase) != "decode":
        return 0
    digits = "".join(ch for ch in phase if ch.isdigit())
    return int(digits) if digits else 1


_INDEX = re.compile(r"\[\d+\]")


def canonical_phase(phase: str | None) -> str:
    """``decode[3]``, ``decode_first_token`` → ``decode``; anything else as given (default prefill)."""
    if phase is None:
        return "prefill"
    return "decode" if DECODE_RE.match(phase) else phase


# --------------------------------------------------------------------------------------------
# dtype → precision
# --------------------------------------------------------------------------------------------

#: A capture's dtype (``--dtype``, a config's ``torch_dtype``) → the precision text the
#: predictor parses (:meth:`rooflens.predict.Precision.parse`).  bf16 keeps its own compute
#: dtype (same peak as fp16 on every card in gpus.toml, a different label).
DTYPE_PRECISION: dict[str, str] = {
    "fp16": "W16A16KV16",
    "float16": "W16A16KV16",
    "half": "W16A16KV16",
    "bf16": "W16A16KV16-BF16",
    "bfloat16": "W16A16KV16-BF16",
    "fp8": "W8A8KV8",
    "float8_e4m3fn": "W8A8KV8",
    "fp32": "W32A32KV32",
    "float32": "W32A32KV32",
}


def precision_for_dtype(dtype: str | None) -> str:
    """Precision text for a dtype name (fp16 when unknown or absent)."""
    return DTYPE_PRECISION.get(str(dtype or "fp16").lower(), "W16A16KV16")
