"""Prediction vs measurement, per operator: the ``comparison`` section of report.json.

Inputs are the plain dicts of report.json (docs/report-json.md), all in SI units.  The
prediction covers the whole model (per-layer operators × layers, plus embedding, final norm
and LM head, for prefill and decode); a capture usually covers less (the seed profiled one
layer of the prefill).  So the comparison first works out the *scope* the measurement covers
— which phases, how many layers, which per-model operators — and compares only that part of
the prediction, saying so in ``scope.note``.

Measured time per operator is the Σ of its kernels' nsys (or Kineto) durations; measured
FLOPs and bytes come from NCU counters when present (joined by kernel index).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from rooflens.analysis.gemm_flops import apply_flops_evidence
from rooflens.analysis.operators import assign_operators, operator_class
from rooflens.analysis.runs import chosen_run_of
from rooflens.vocab import STRUCTURAL_RANGE_RE, canonical_operator, canonical_phase


def innermost_range(stack: list[str] | None) -> str | None:
    """The innermost NVTX range name that says what a kernel does (``sample``), or None.

    Structural names (``Run[2]``, ``Layer[0]#Run[2]``, ``prefill``, ``decode[3]``) are skipped:
    they place a kernel, they do not name its work.  A ``a/b`` path entry gives its last part.
    """
    for entry in reversed(stack or []):
        leaf = str(entry).rsplit("/", 1)[-1].strip()
        if leaf and not STRUCTURAL_RANGE_RE.match(leaf):
            return leaf
    return None


def timeline_key(ncu_kernel: dict[str, Any]) -> Any:
    """Index of the timeline kernel an NCU kernel was joined to (``timeline_index`` when the
    NCU analysis recorded one, else its own ``index``: the same launch order)."""
    if "timeline_index" in ncu_kernel:
        return ncu_kernel["timeline_index"]
    return ncu_kernel.get("index")


def measured_kernels(
    timeline: dict[str, Any] | None, kernels: list[dict[str, Any]] | None
) -> list[dict[str, Any]]:
    """The chosen run's kernels with operator, phase, layer, duration and NCU FLOPs/bytes.

    Durations come from the timeline (nsys / Kineto) when there is one, else from NCU.
    Kernels without an ``operator`` (no NVTX join) are classified by name and order.
    """
    base = (timeline or {}).get("kernels") or kernels or []
    ncu_by_index = {timeline_key(k): k for k in (kernels or [])} if timeline else {}
    rows: list[dict[str, Any]] = []
    for k in base:
        ncu = ncu_by_index.get(k.get("index"), k)
        rows.append(
            {
                "index": k.get("index"),
                "name": k.get("name", ""),
                "short_name": k.get("short_name") or k.get("name", ""),
                "duration_s": k.get("duration_s") or 0.0,
                "operator": k.get("operator") or ncu.get("operator"),
                "phase": k.get("phase"),
                "layer": k.get("layer"),
                "flops": ncu.get("flops"),
                "dram_bytes": ncu.get("dram_bytes"),
                "nvtx": k.get("nvtx") or ncu.get("nvtx"),
            }
        )
        if k.get("evidence"):  # attributed without NVTX (analysis/structure.py): name / position
            rows[-1]["operator_source"] = k["evidence"]
    if rows and any(r["operator"] is None for r in rows):
        guessed = assign_operators([r["name"] for r in rows], [r["layer"] for r in rows])
        for r, op in zip(rows, guessed, strict=True):
            if r["operator"] is None:
                r["operator"], r["operator_source"] = op, "name"
    for r in rows:
        # No operator from NVTX or the name: the innermost range name (``sample``) says more
        # than ``other``.
        stack = r.pop("nvtx")
        label = innermost_range(stack) if r["operator"] in (None, "other") else None
        if label:
            r["operator"], r["operator_source"] = label, "nvtx_range"
    return rows


def measurement_scope(rows: list[dict[str, Any]], prediction: dict[str, Any]) -> dict[str, Any]:
    """Which phases and how many layers the measurement covers, and the note that says so."""
    phases = sorted({canonical_phase(r["phase"]) for r in rows}) or ["prefill"]
    decode_labels = {
        r["phase"] for r in rows if r["phase"] and canonical_phase(r["phase"]) == "decode"
    }
    layer_ids = {r["layer"] for r in rows if r["layer"] is not None}
    # Without layer indices, count decoder layers by their attention kernels (≥ 1).
    n_layers = len(layer_ids) if layer_ids else max(1, _count_layers_by_attention(rows))
    ops_present = {canonical_operator(r["operator"]) for r in rows if r["operator"]}
    predicted_layers = _predicted_layer_count(prediction)
    note = (
        f"compared: phase(s) {', '.join(phases)} ({len(decode_labels)} decode steps),"
        f" {n_layers} of {predicted_layers} layer(s)"
        " measured; per-model operators only where their kernels were captured"
    )
    return {
        "phases": phases,
        "layers": sorted(layer_ids) if layer_ids else None,
        "layer_count": n_layers,
        "predicted_layer_count": predicted_layers,
        "operators_present": sorted(ops_present),
        "decode_steps": len(decode_labels),
        "note": note,
    }


def _count_layers_by_attention(rows: list[dict[str, Any]]) -> int:
    """Number of runs of consecutive attention kernels (one per layer: prepare + main kernel)."""
    count, inside = 0, False
    for r in rows:
        is_attn = r["operator"] == "attention"
        if is_attn and not inside:
            count += 1
        inside = is_attn
    return count


def _predicted_layer_count(prediction: dict[str, Any]) -> int:
    """Layers in the prediction: distinct per-layer indices, or the largest per-layer ``count``."""
    ops = prediction.get("operators") or []
    ids = {o.get("layer") for o in ops if o.get("layer") is not None}
    if ids:
        return len(ids)
    counts = [int(o.get("count") or 1) for o in ops]
    return max(counts, default=1)


def _scale_for(op: dict[str, Any], scope: dict[str, Any]) -> float:
    """Share of a predicted operator row inside the measured scope (0 = outside)."""
    layer = op.get("layer")
    count = int(op.get("count") or 1)
    if layer is not None:
        layers = scope["layers"]
        if layers is not None:
            return 1.0 if layer in layers else 0.0
        return 1.0 if layer < scope["layer_count"] else 0.0
    if count > 1:  # one row standing for `count` identical layers
        return min(scope["layer_count"], count) / count
    return 1.0 if canonical_operator(op["name"]) in scope["operators_present"] else 0.0


def _decode_factor(
    op_phase: str | None, prediction: dict[str, Any], scope: dict[str, Any]
) -> float:
    """Scale of a decode row to the measured decode steps (0 = skip the row).

    The prediction lists decode twice: ``decode_first_token`` (one step at context s) and
    ``decode_total`` (the n − 1 steps with the KV cache growing).  Measured ``decode[k]``
    steps are compared with ``decode_total`` scaled by measured / predicted steps (exact when
    the capture ran them all); ``decode_first_token`` is used only when there is no total.
    """
    rows = prediction.get("operators") or []
    has_total = any(o.get("phase") == "decode_total" for o in rows)
    measured = scope["decode_steps"]
    if op_phase == "decode_total":
        steps = ((prediction.get("phases") or {}).get("decode_total") or {}).get("steps")
        return measured / steps if steps else 1.0
    if op_phase == "decode_first_token" and has_total:
        return 0.0
    return float(max(measured, 1))


def _predicted_in_scope(
    prediction: dict[str, Any], scope: dict[str, Any]
) -> dict[tuple[str, str], dict[str, Any]]:
    """Σ predicted FLOPs / bytes / time per (operator, phase) inside the scope, in prediction order."""
    out: dict[tuple[str, str], dict[str, Any]] = {}
    for op in prediction.get("operators") or []:
        phase = canonical_phase(op.get("phase"))
        if phase not in scope["phases"]:
            continue
        share = _scale_for(op, scope)
        if phase == "decode":
            share *= _decode_factor(op.get("phase"), prediction, scope)
        if share == 0.0:
            continue
        key = (canonical_operator(op["name"]), phase)
        acc = out.setdefault(
            key,
            {"flops": 0.0, "bytes": 0.0, "time_s": 0.0, "bound_time": defaultdict(float),
             "attainable_time_s": 0.0, "calibrated": True, "l2_resident": False},
        )  # fmt: skip
        att = op.get("attainable_time_s")
        if att is None:
            acc["calibrated"] = False
        else:
            acc["attainable_time_s"] += share * float(att)
        acc["l2_resident"] |= bool(op.get("l2_resident"))
        acc["flops"] += share * float(op.get("flops") or 0.0)
        acc["bytes"] += share * float(op.get("bytes") or 0.0)
        t = share * float(op.get("time_s") or 0.0)
        acc["time_s"] += t
        acc["bound_time"][op.get("bound") or "memory"] += t
    return out


def _roof_time(flops: float | None, nbytes: float | None, gpu: dict[str, Any]) -> float | None:
    """Minimum time the GPU needs for ``flops`` and ``nbytes`` (max of compute and memory time)."""
    peak, bw = gpu.get("peak_flops"), gpu.get("bandwidth_bps")
    if flops is None or nbytes is None or not peak or not bw:
        return None
    return max(flops / peak, nbytes / bw)


def _sum_or_none(values: list[float | None]) -> float | None:
    """Σ of values, or None when any is missing (a partial sum would mislead)."""
    if not values or any(v is None for v in values):
        return None
    return float(sum(v for v in values if v is not None))


def _operator_rows(
    predicted: dict[tuple[str, str], dict[str, Any]],
    rows: list[dict[str, Any]],
    gpu: dict[str, Any],
) -> list[dict[str, Any]]:
    """One comparison row per predicted (operator, phase) in scope."""
    groups: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        if r["operator"]:
            groups[(canonical_operator(r["operator"]), canonical_phase(r["phase"]))].append(r)
    out = []
    for (name, phase), p in predicted.items():
        ks = groups.get((name, phase), [])
        measured_t = float(sum(k["duration_s"] for k in ks)) if ks else None
        m_flops = _sum_or_none([k["flops"] for k in ks])
        m_bytes = _sum_or_none([k["dram_bytes"] for k in ks])
        roof_t = _roof_time(m_flops, m_bytes, gpu)
        bound_time = p["bound_time"]
        out.append(
            {
                "name": name,
                "phase": phase,
                "predicted_time_s": p["time_s"],
                "predicted_flops": p["flops"],
                "predicted_bytes": p["bytes"],
                "predicted_bound": max(bound_time, key=bound_time.get) if bound_time else None,
                "measured_time_s": measured_t,
                "measured_flops": m_flops,
                "measured_bytes": m_bytes,
                "kernel_count": len(ks),
                "roof_fraction": roof_t / measured_t if roof_t is not None and measured_t else None,
                "ratio": measured_t / p["time_s"]
                if measured_t is not None and p["time_s"]
                else None,
                **_attainable_split(p, measured_t),
            }
        )
    return out


def _attainable_split(p: dict[str, Any], measured_t: float | None) -> dict[str, Any]:
    """Attainable time and the two halves of the gap: ideal → attainable (what this GPU allows
    at this shape, ``gpu_ratio``) and attainable → measured (what the implementation loses,
    ``implementation_ratio``, and the seconds at stake ``implementation_gap_s``)."""
    att = p["attainable_time_s"] if p.get("calibrated") else None
    return {
        "attainable_time_s": att,
        "l2_resident": bool(p.get("l2_resident")),
        "gpu_ratio": att / p["time_s"] if att is not None and p["time_s"] else None,
        "implementation_ratio": measured_t / att if att and measured_t is not None else None,
        "implementation_gap_s": measured_t - att
        if att is not None and measured_t is not None
        else None,
    }


#: A tensor-core GEMM whose counted FLOPs exceed its useful (predicted) FLOPs by this factor gets
#: a note: MMA tiles are padded when a GEMM has few rows (M = 1 counted 8.0x on the H200, see
#: docs/capture.md), so its measured FLOPs, FLOP/s and intensity include the padding.
PADDING_RATIO = 2.0


def padding_notes(ops: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``tensor_padding`` notes for GEMM operators measured at ≥ :data:`PADDING_RATIO` × their FLOPs."""
    out = []
    for o in ops:
        pred, meas = o["predicted_flops"], o["measured_flops"]
        if operator_class(o["name"]) != "gemm" or not pred or meas is None:
            continue
        if meas / pred >= PADDING_RATIO:
            out.append({"kind": "tensor_padding", "operator": o["name"], "phase": o["phase"],
                        "flops_ratio": meas / pred})  # fmt: skip
    return out


def _totals(
    ops: list[dict[str, Any]],
    rows: list[dict[str, Any]],
    timeline: dict[str, Any] | None,
    measured: dict[str, Any] | None,
) -> dict[str, Any]:
    """Performance gap (predicted/measured time − 1, as the seed's 性能差), intensity gap, bound agreement."""
    matched = [o for o in ops if o["measured_time_s"] is not None]
    pred_t = float(sum(o["predicted_time_s"] for o in ops))
    meas_t = float(sum(k["duration_s"] for k in rows))
    pred_f = float(sum(o["predicted_flops"] for o in ops))
    pred_b = float(sum(o["predicted_bytes"] for o in ops))
    pred_intensity = pred_f / pred_b if pred_b else None
    meas_intensity = (measured or {}).get("intensity")
    bound_time: dict[str, float] = defaultdict(float)
    for o in ops:
        bound_time[o["predicted_bound"] or "memory"] += o["predicted_time_s"]
    pred_bound = max(bound_time, key=lambda b: bound_time[b]) if bound_time else None
    meas_bound = (measured or {}).get("bound")
    run_t = _chosen_run_duration(timeline)
    predicted = pred_t > 0  # no prediction (no model given): no gap, not "−100 %"
    return {
        "predicted_time_s": pred_t if predicted else None,
        "measured_time_s": meas_t if rows else None,
        "matched_measured_time_s": float(sum(o["measured_time_s"] for o in matched)),
        "performance_gap": pred_t / meas_t - 1.0 if predicted and rows and meas_t else None,
        "run_time_s": run_t,
        "run_performance_gap": pred_t / run_t - 1.0 if predicted and run_t else None,
        "predicted_intensity": pred_intensity,
        "measured_intensity": meas_intensity,
        "intensity_gap": meas_intensity / pred_intensity - 1.0
        if meas_intensity is not None and pred_intensity
        else None,
        "predicted_bound": pred_bound,
        "measured_bound": meas_bound,
        "bound_agrees": pred_bound == meas_bound if meas_bound and pred_bound else None,
    }


def _chosen_run_duration(timeline: dict[str, Any] | None) -> float | None:
    """Range duration of the chosen run (what a user waits for), or None without a timeline."""
    run = chosen_run_of(timeline)
    return run.get("range_duration_s") if run else None


def compare(
    prediction: dict[str, Any],
    timeline: dict[str, Any] | None,
    kernels: list[dict[str, Any]] | None,
    measured: dict[str, Any] | None,
    gpu: dict[str, Any],
) -> dict[str, Any]:
    """The ``comparison`` section: per-operator rows, totals, unmatched kernels and scope.

    Findings are added by :func:`rooflens.analysis.findings.rank_findings` (kept separate so
    each stays a small pure function).
    """
    rows = measured_kernels(timeline, kernels)
    apply_flops_evidence(rows, prediction)  # inferred GEMM operators checked by NCU FLOPs
    scope = measurement_scope(rows, prediction)
    predicted = _predicted_in_scope(prediction, scope)
    ops = _operator_rows(predicted, rows, gpu)
    names = {name for name, _ in predicted}
    unmatched = [
        {
            "index": r["index"],
            "short_name": r["short_name"],
            "operator": r["operator"],
            "duration_s": r["duration_s"],
        }
        for r in rows
        if canonical_operator(r["operator"] or "") not in names
    ]
    return {
        "scope": scope,
        "operators": ops,
        "kernel_operators": [
            {
                "index": r["index"],
                "operator": r["operator"],
                "source": r.get("operator_source", "nvtx"),
            }
            for r in rows
        ],
        "total": _totals(ops, rows, timeline, measured),
        "unmatched_kernels": unmatched,
        "notes": padding_notes(ops),
        "findings": [],
    }
