"""Predicted time of each decode step (the KV cache grows by one position per step).

The prediction's ``decode_total`` is the exact sum over the n − 1 steps; a per-step view of a
whole-model run (time per decode step, measured vs predicted) needs each term.  Step k is the
difference of the totals for output lengths k + 1 and k, both exact, so the per-step figures
sum to ``decode_total`` by construction.
"""

from __future__ import annotations

from dataclasses import replace

from rooflens.hardware import GPU
from rooflens.model.architecture import Architecture
from rooflens.predict.prediction import predict_output_lens
from rooflens.predict.workload import Workload

#: Beyond this many decode steps per-step figures are not computed (O(n²) work; a report of
#: that many steps shows the per-step overview from measurement only).
MAX_STEPS = 4096


def decode_step_times(arch: Architecture, gpu: GPU, workload: Workload) -> list[float]:
    """Predicted time (s) of decode steps 1 … output_len − 1, in order ([] without decode)."""
    steps = workload.output_len - 1
    if steps < 1 or steps > MAX_STEPS:
        return []
    preds = predict_output_lens(arch, gpu, replace(workload, output_len=1), range(1, steps + 2))
    totals = [p.phases["decode_total"].time_s for p in preds]
    return [b - a for a, b in zip(totals, totals[1:], strict=False)]
