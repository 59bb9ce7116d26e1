"""Views of the whole-model and multi-GPU sections: time per step and per layer (``breakdown``)
and the tensor-parallel ranks (``ranks``) of the typed document.  Formats only; rows are bounded so a 64-step,
32-layer or 8-rank report stays short (the JSON keeps every row)."""

from __future__ import annotations

from typing import Any

from rooflens.report.formats import NA, f_bw, f_bytes, f_frac, f_ratio, f_time
from rooflens.report_model import ReportDocument

#: Rows shown per table before the middle is left out (first and last halves kept).
MAX_ROWS = 24


def _bounded(rows: list[dict[str, str]]) -> tuple[list[dict[str, str] | None], int]:
    """``rows``, or its first and last MAX_ROWS/2 with None between; and how many were left out."""
    if len(rows) <= MAX_ROWS:
        return list(rows), 0
    half = MAX_ROWS // 2
    return [*rows[:half], None, *rows[-half:]], len(rows) - 2 * half


def breakdown_view(doc: ReportDocument, s: dict[str, Any]) -> dict[str, Any] | None:
    """Per-step and per-layer tables; None without a breakdown (no timeline)."""
    b = doc.breakdown
    if b is None:
        return None
    steps = [{"step": str(r.step), "phase": str(r.phase), "kernels": str(r.kernel_count),
              "measured": f_time(r.measured_time_s), "predicted": f_time(r.predicted_time_s),
              "ratio": f_ratio(r.ratio)} for r in b.steps]  # fmt: skip
    layers = [{"layer": str(r.layer), "kernels": str(r.kernel_count),
               "prefill": f_time(r.prefill_time_s), "decode": f_time(r.decode_time_s),
               "predicted_prefill": f_time(r.predicted_prefill_time_s),
               "predicted_decode": f_time(r.predicted_decode_time_s)}
              for r in b.layers]  # fmt: skip
    step_rows, steps_more = _bounded(steps)
    layer_rows, layers_more = _bounded(layers)
    return {"t": s["breakdown"], "steps": step_rows, "steps_more": steps_more,
            "layers": layer_rows, "layers_more": layers_more}  # fmt: skip


def ranks_view(doc: ReportDocument, s: dict[str, Any]) -> dict[str, Any] | None:
    """Per-rank table, bus bandwidth per message size and the rank findings; None for one GPU."""
    r = doc.ranks
    if r is None:
        return None
    t = s["ranks"]
    rows = [{"rank": str(x.rank), "gpu": x.gpu or NA, "range": f_time(x.range_duration_s),
             "kernel_time": f_time(x.kernel_time_s), "bubble": f_frac(x.bubble_ratio),
             "comm": f_time(x.communication_time_s), "exposed": f_time(x.exposed_communication_s),
             "wait": f_time(x.wait_s), "last": str(x.arrived_last)} for x in r.ranks]  # fmt: skip
    bw = [{"phase": x.phase, "message": f_bytes(x.message_bytes), "collectives": str(x.collectives),
           "median": f_bw(x.median_bus_bandwidth_bps), "max": f_bw(x.max_bus_bandwidth_bps)}
          for x in r.bus_bandwidth]  # fmt: skip
    by_rank = {x.rank: x for x in r.ranks}
    findings = []
    for f in r.findings:
        rank = int(str(f.subject).split()[-1])
        x = by_rank[rank]
        if f.rule == "straggler":
            findings.append(t["finding_straggler"].format(rank=rank, count=x.arrived_last,
                                                          wait=f_time(x.wait_caused_s)))  # fmt: skip
        else:
            findings.append(t["finding_exposed"].format(rank=rank, time=f_time(x.exposed_communication_s),
                                                        share=f_frac(f.value)))  # fmt: skip
    intro = t["intro"].format(tp=r.tp, matched=r.collectives_matched,
                              unmatched=r.collectives_unmatched)  # fmt: skip
    return {"t": t, "intro": intro, "rows": rows, "bus_bandwidth": bw, "findings": findings}
