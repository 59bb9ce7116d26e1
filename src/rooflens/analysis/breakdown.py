"""Time per decode step and per layer, measured beside predicted (a whole model at a glance).

A 32-layer, 64-token run has tens of thousands of kernels; a reader wants to know first whether
one layer or one step stands out (a slow first decode step: cuBLAS heuristics or graph capture;
a layer that differs: MoE vs dense layers, L2 effects), and how far each is from the roofline.
Inputs are report.json sections (dicts, SI units); outputs the ``breakdown`` section.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from rooflens.vocab import MODEL_OPERATORS, canonical_phase, phase_range, step_of


def per_step(
    kernels: list[dict[str, Any]], prediction: dict[str, Any] | None
) -> list[dict[str, Any]]:
    """One row per generation step of the chosen run: kernel count, Σ kernel time, predicted time.

    Predicted: the prefill's phase time for step 0; ``decode_step_times_s[k − 1]`` for ``decode[k]``
    (each step's own KV length) when the prediction carries them.
    """
    time: dict[int, float] = defaultdict(float)
    count: dict[int, int] = defaultdict(int)
    phase_name: dict[int, str] = {}
    for k in kernels:
        if k.get("phase") is None:
            continue
        s = step_of(k["phase"])
        time[s] += float(k.get("duration_s") or 0.0)
        count[s] += 1
        phase_name[s] = phase_range(s)
    pred = prediction or {}
    steps_pred = pred.get("decode_step_times_s") or []
    prefill_pred = ((pred.get("phases") or {}).get("prefill") or {}).get("time_s")
    rows = []
    for s in sorted(time):
        p = prefill_pred if s == 0 else (steps_pred[s - 1] if s - 1 < len(steps_pred) else None)
        rows.append({"step": s, "phase": phase_name[s], "kernel_count": count[s],
                     "measured_time_s": time[s], "predicted_time_s": p,
                     "ratio": time[s] / p if p else None})  # fmt: skip
    return rows


def _predicted_per_layer(prediction: dict[str, Any] | None) -> dict[str, float]:
    """Predicted time of one layer per phase class (prefill; decode over all its steps).

    Per-layer operator rows stand for ``count`` identical layers: one layer's share is time / count.
    Models whose layers differ (MoE with dense first layers) get the mean layer.
    """
    n = int((prediction or {}).get("layers") or 0)
    if not n:
        return {}
    out: dict[str, float] = defaultdict(float)
    for o in (prediction or {}).get("operators") or []:
        if o.get("name") in MODEL_OPERATORS or o.get("phase") == "decode_first_token":
            continue
        out[canonical_phase(o.get("phase"))] += float(o.get("time_s") or 0.0)
    return {p: t / n for p, t in out.items()}


def per_layer(
    kernels: list[dict[str, Any]], prediction: dict[str, Any] | None
) -> list[dict[str, Any]]:
    """One row per decoder layer: Σ kernel time in prefill and in decode, beside one predicted layer."""
    time: dict[tuple[int, str], float] = defaultdict(float)
    count: dict[int, int] = defaultdict(int)
    for k in kernels:
        layer = k.get("layer")
        if layer is None:
            continue
        time[(int(layer), canonical_phase(k.get("phase")))] += float(k.get("duration_s") or 0.0)
        count[int(layer)] += 1
    pred = _predicted_per_layer(prediction)
    return [
        {"layer": layer, "kernel_count": count[layer],
         "prefill_time_s": time.get((layer, "prefill"), 0.0),
         "decode_time_s": time.get((layer, "decode"), 0.0),
         "predicted_prefill_time_s": pred.get("prefill"),
         "predicted_decode_time_s": pred.get("decode")}
        for layer in sorted(count)
    ]  # fmt: skip


def breakdown(
    timeline: dict[str, Any] | None, prediction: dict[str, Any] | None
) -> dict[str, Any] | None:
    """The ``breakdown`` section: ``steps`` and ``layers`` rows (None without a timeline)."""
    kernels = (timeline or {}).get("kernels") or []
    if not kernels:
        return None
    return {"steps": per_step(kernels, prediction), "layers": per_layer(kernels, prediction)}
