"""The report's ideal / attainable / measured section and its opening summary (docs/calibration.md).

Reads the typed document's ``comparison.operators`` (:class:`OperatorRow`) (which carry ``attainable_time_s`` and the gap
split) and ``prediction.run_timeline``; formats only.  Rows are ranked by what the
implementation loses (attainable → measured, seconds), the part a user can act on.
"""

from __future__ import annotations

import re
from collections import defaultdict
from typing import Any

from rooflens.report.formats import NA, f_frac, f_ratio, f_time
from rooflens.report_model import OperatorRow, ReportDocument

GEMMS = {"qkv_proj", "o_proj", "gate_up_proj", "down_proj", "lm_head", "q_proj", "router"}
ROWS_SHOWN = 12
BUBBLE_FIRST = 0.20  # above this measured bubble ratio the first advice is the launch overhead


def _rows(ops: tuple[OperatorRow, ...]) -> list[OperatorRow]:
    rows = [o for o in ops if o.attainable_time_s is not None and o.measured_time_s]
    return sorted(rows, key=lambda o: -(o.implementation_gap_s or 0.0))


def _phases(rows: list[OperatorRow]) -> list[dict[str, str]]:
    acc: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0, 0.0])
    for o in rows:
        a = acc[o.phase]
        a[0] += o.predicted_time_s or 0.0
        a[1] += o.attainable_time_s or 0.0
        a[2] += o.measured_time_s or 0.0
    return [
        {"phase": p, "ideal": f_time(i), "attainable": f_time(a), "measured": f_time(m),
         "gpu": f_ratio(a / i if i else None), "impl": f_ratio(m / a if a else None),
         "at_stake": f_time(m - a)}
        for p, (i, a, m) in acc.items()
    ]  # fmt: skip


def _run_estimate(doc: ReportDocument) -> tuple[Any, Any, str]:
    """(predicted run estimate, measured chosen run, execution mode); either may be None."""
    rt = doc.prediction.run_timeline if doc.prediction else None
    mode = (rt.decode if rt else None) or "eager"
    estimate = getattr(rt, mode, None) if rt and mode in ("eager", "cuda_graph") else None
    tl = doc.timeline
    chosen = next((r for r in tl.runs if r.name == tl.chosen_run), None) if tl else None
    return estimate, chosen, mode


def _host(estimate: Any, chosen: Any) -> dict[str, str] | None:
    """Predicted host seconds of the run (the built-in workload's eager loop at the calibrated
    host costs) against its NVTX range on the host — the measured host time while the host
    never waits for the GPU.  A ratio well above 1 says the host ran slower than calibrated
    (another machine state, a slower CPU) or, in a foreign program, did more host work per
    operator than that loop; the bubble ratio moves with it (docs/calibration.md)."""
    predicted = estimate.host_time_s if estimate else None
    measured = chosen.range_duration_s if chosen else None
    if not predicted or not measured:
        return None
    return {"predicted": f_time(predicted), "measured": f_time(measured),
            "ratio": f_ratio(measured / predicted)}  # fmt: skip


def _bubble_context(estimate: Any, measured: float | None, t: dict[str, Any]) -> dict[str, str]:
    """The predicted bubble's range over the calibration's host processes, the prediction for
    the capture's own process (its host probe), and — for a measured run — the model's bubble
    at that run's host speed: near the measured one, the bubble is the host's launch cost; well
    below it, the GPU waits for something else."""
    out = {"range": "", "probed": "", "at_host": ""}
    rng = estimate.bubble_ratio_range if estimate else None
    if rng and len(rng) == 2:
        out["range"] = t["bubble_range"].format(lo=f_frac(rng[0]), hi=f_frac(rng[1]))
    probed = estimate.at_probed_host if estimate else None
    if probed is not None and probed.bubble_ratio is not None and probed.host_scale:
        out["probed"] = t["bubble_probed"].format(scale=f_ratio(probed.host_scale),
                                                  bubble=f_frac(probed.bubble_ratio))  # fmt: skip
    at = estimate.at_run_host if estimate else None
    if measured is not None and at is not None and at.bubble_ratio is not None and at.host_scale:
        out["at_host"] = t["bubble_at_host"].format(scale=f_ratio(at.host_scale),
                                                    bubble=f_frac(at.bubble_ratio))  # fmt: skip
    return out


def _summary(
    rows: list[OperatorRow], predicted: float | None, measured: float | None, t: dict[str, Any]
) -> list[str]:
    """Where the kernel time goes, and what to do first; ``predicted`` and ``measured``: the
    chosen run's bubble ratios."""
    total = sum(o.measured_time_s or 0.0 for o in rows)
    if total <= 0:
        return []
    gemm = sum(o.measured_time_s or 0.0 for o in rows if o.name in GEMMS) / total
    attn = sum(o.measured_time_s or 0.0 for o in rows if o.name == "attention") / total
    att = sum(o.attainable_time_s or 0.0 for o in rows)
    ideal = sum(o.predicted_time_s or 0.0 for o in rows)
    lines = [
        t["where"].format(
            total=f_time(total),
            gemm=f_frac(gemm),
            attention=f_frac(attn),
            other=f_frac(max(0.0, 1 - gemm - attn)),
            ideal=f_time(ideal),
            attainable=f_time(att),
        )  # fmt: skip
    ]
    top = rows[0] if rows and (rows[0].implementation_gap_s or 0) > 0 else None
    if measured is not None and measured > BUBBLE_FIRST:
        lines.append(t["first_bubble"].format(measured=f_frac(measured),
                     predicted=f_frac(predicted) if predicted is not None else NA))  # fmt: skip
    elif top is not None:
        lines.append(t["first_op"].format(operator=top.name, phase=top.phase,
                     at_stake=f_time(top.implementation_gap_s),
                     ratio=f_ratio(top.implementation_ratio)))  # fmt: skip
    else:
        lines.append(t["first_none"])
    return lines


def attainable_view(doc: ReportDocument, s: dict[str, Any]) -> dict[str, Any] | None:
    """The section's view, or None without a comparison; ``calibrated`` False says why."""
    comp, pred = doc.comparison, doc.prediction
    t = dict(s.get("attainable") or {})
    if comp is None or pred is None or not t:
        return None
    if not pred.calibration:
        return {"calibrated": False, "t": t}
    rows = _rows(comp.operators)
    estimate, chosen, mode = _run_estimate(doc)
    predicted = estimate.bubble_ratio if estimate else None
    measured = chosen.bubble_ratio if chosen else None
    m = re.match(r"^(.*?), driver .*\((.+)\)$", str(pred.calibration))
    return {
        "calibrated": True,
        "t": t,
        "label": f"{m[1]} ({m[2]})" if m else str(pred.calibration),
        "summary": _summary(rows, predicted, measured, t),
        "rows": [
            {
                "name": o.name,
                "phase": o.phase,
                "ideal": f_time(o.predicted_time_s),
                "attainable": f_time(o.attainable_time_s) + (" (L2)" if o.l2_resident else ""),
                "measured": f_time(o.measured_time_s),
                "gpu": f_ratio(o.gpu_ratio),
                "impl": f_ratio(o.implementation_ratio),
                "at_stake": f_time(o.implementation_gap_s),
            }
            for o in rows[:ROWS_SHOWN]
        ],  # fmt: skip
        "rows_more": max(0, len(rows) - ROWS_SHOWN),
        "phases": _phases(rows),
        "bubble": {
            "mode": mode,
            "predicted": f_frac(predicted) if predicted is not None else NA,
            "measured": f_frac(measured) if measured is not None else NA,
            **_bubble_context(estimate, measured, t),
        },  # fmt: skip
        "host": _host(estimate, chosen),
        "l2": any(o.l2_resident for o in rows),
    }
