"""GEMM FLOPs as evidence for operators inferred without NVTX (docs/attribution.md).

A projection's FLOPs per step are ``2 · tokens · N · K``: its weight shape is recognisable by its
FLOPs.  Where Nsight Compute counted a GEMM kernel's FLOPs, the FLOPs of the GEMMs given one
operator in one layer of one step (``q_proj`` + ``k_proj`` + ``v_proj`` join as ``qkv_proj``)
are compared with the prediction's FLOPs for that operator, layer and phase:

* within :data:`TOLERANCE` → the kernels' evidence gains ``+flops`` (``name+position+flops``);
* far off (more than :data:`FAR`), while a *single* GEMM kernel's FLOPs match exactly one other
  GEMM operator of the same phase within the tolerance → the kernel is relabelled to that
  operator with evidence ``flops`` (prefill only: a decode GEMM of a few tokens is padded to the
  tensor-core tile, so NCU counts several times its useful FLOPs — the ``tensor_padding`` note).

Only rows whose operator was inferred (evidence ``name``, ``position``, ``name+position``) are
touched; NVTX labels stay as they are.  Pure function over the comparison's plain dict rows.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from rooflens.vocab import OPERATOR_CLASSES, canonical_operator, canonical_phase

#: Relative agreement between counted and predicted FLOPs that confirms an operator.
TOLERANCE = 0.05
#: Relative disagreement beyond which a single-kernel GEMM may be relabelled by its FLOPs.
FAR = 0.25
INFERRED = frozenset({"name", "position", "name+position"})


def predicted_gemm_flops(prediction: dict[str, Any]) -> dict[tuple[str, str], float]:
    """FLOPs of one instance (one layer, one step) of each GEMM operator, per phase
    (``prefill`` / ``decode``, the latter from ``decode_first_token``)."""
    out: dict[tuple[str, str], float] = {}
    for op in prediction.get("operators") or []:
        name = canonical_operator(str(op.get("name")))
        phase = str(op.get("phase"))
        if OPERATOR_CLASSES.get(name) != "gemm" or phase not in ("prefill", "decode_first_token"):
            continue
        count = max(int(op.get("count") or 1), 1)
        out[(name, canonical_phase(phase))] = float(op.get("flops") or 0.0) / count
    return out


def _close(a: float, b: float, tol: float) -> bool:
    return b > 0 and abs(a - b) <= tol * b


def apply_flops_evidence(rows: list[dict[str, Any]], prediction: dict[str, Any]) -> None:
    """Confirm (or, in prefill, correct) inferred GEMM operators by their counted FLOPs."""
    want = predicted_gemm_flops(prediction)
    if not want:
        return
    groups: dict[tuple[Any, ...], list[dict[str, Any]]] = defaultdict(list)
    step = 0
    for prev, r in zip([None, *rows], rows, strict=False):
        if prev is not None and r.get("phase") != prev.get("phase"):
            step += 1
        name = canonical_operator(str(r.get("operator") or ""))
        if r.get("operator_source") in INFERRED and OPERATOR_CLASSES.get(name) == "gemm":
            groups[(step, name, r.get("layer"))].append(r)
    for (_, name, _), members in groups.items():
        phase = canonical_phase(members[0].get("phase"))
        if any(r.get("flops") is None for r in members) or (name, phase) not in want:
            continue
        flops = sum(float(r["flops"]) for r in members)
        if _close(flops, want[(name, phase)], TOLERANCE):
            for r in members:
                r["operator_source"] = f"{r['operator_source']}+flops"
        elif (
            phase == "prefill" and len(members) == 1 and not _close(flops, want[(name, phase)], FAR)
        ):
            others = [
                op for (op, ph), f in want.items() if ph == phase and _close(flops, f, TOLERANCE)
            ]
            if len(others) == 1:
                members[0]["operator"], members[0]["operator_source"] = others[0], "flops"
