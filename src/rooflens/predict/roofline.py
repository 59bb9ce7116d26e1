"""Roofline evaluation: an operator's time is the max of its compute, memory and link times.

compute time = FLOPs / peak(dtype), memory time = bytes / DRAM bandwidth, communication time =
interconnect bytes / interconnect bandwidth.  Phase figures sum per-operator times (the sum of
maxima, never the max of sums) and take the bound that holds most of the time.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from rooflens.hardware import GPU
from rooflens.predict.ops import Num, Op

BOUNDS = ("compute", "memory", "communication")


@dataclass(frozen=True)
class OpResult:
    """One operator row of the prediction: totals over ``count`` layers (and over the decode
    steps for the ``decode_total`` phase).  ``layer`` is the first layer it stands for (None for
    once-per-model operators)."""

    name: str
    phase: str
    layer: int | None
    count: int
    flops: float
    bytes: float
    comm_bytes: float
    compute_time_s: float
    memory_time_s: float
    comm_time_s: float
    time_s: float
    bound: str
    attainable_time_s: float | None = (
        None  # calibrated (predict/attainable.py); None: no calibration
    )
    l2_resident: bool = False  # attainable beats the ideal memory time: the bytes fit in L2

    @property
    def intensity(self) -> float:
        """FLOP per DRAM byte (0 when no bytes move)."""
        return self.flops / self.bytes if self.bytes else 0.0

    def to_dict(self) -> dict[str, object]:
        """The ``prediction.operators[]`` entry of report.json (SI units).

        ``layer`` is the layer index only when the row stands for exactly one layer; a row for
        ``count`` > 1 identical layers has ``layer`` null and ``first_layer`` set (and a
        once-per-model operator has both null), as analysis.compare reads them.
        """
        return {
            "name": self.name,
            "phase": self.phase,
            "layer": self.layer if self.count == 1 else None,
            "first_layer": self.layer,
            "count": self.count,
            "flops": self.flops,
            "bytes": self.bytes,
            "intensity": self.intensity,
            "compute_time_s": self.compute_time_s,
            "memory_time_s": self.memory_time_s,
            "comm_bytes": self.comm_bytes,
            "comm_time_s": self.comm_time_s,
            "time_s": self.time_s,
            "attainable_time_s": self.attainable_time_s,
            "l2_resident": self.l2_resident,
            "bound": self.bound,
        }


def _total(x: Num, steps: int) -> float:
    """Sum over decode steps: an array is summed, a step-independent scalar multiplied."""
    if isinstance(x, np.ndarray):
        return float(x.sum())
    return float(x) * steps


def evaluate(
    op: Op, gpu: GPU, dtype: str, phase: str, layer: int | None, count: int, steps: int = 1
) -> OpResult:
    """Roofline time of ``op`` repeated ``count`` times per step over ``steps`` steps."""
    peak = gpu.peak(op.dtype or dtype)
    comm = op.comm_bytes / gpu.interconnect_bps
    if isinstance(op.flops, np.ndarray) or isinstance(op.bytes, np.ndarray):
        compute = np.asarray(op.flops, dtype=float) / peak
        memory = np.asarray(op.bytes, dtype=float) / gpu.bandwidth_bps
        per_step = np.maximum(np.maximum(compute, memory), comm)
        times = (_total(compute, steps), _total(memory, steps), comm * steps)
        time_s = _total(per_step if per_step.ndim else float(per_step), steps)
    else:  # step-independent: plain floats are ~10× faster than numpy scalars
        c, m = float(op.flops) / peak, float(op.bytes) / gpu.bandwidth_bps
        times = (c * steps, m * steps, comm * steps)
        time_s = max(c, m, comm) * steps
    if op.comm_bytes:
        bound = BOUNDS[int(np.argmax(times))]
    else:
        bound = "compute" if times[0] > 0 and times[0] >= times[1] else "memory"
    return OpResult(
        name=op.name,
        phase=phase,
        layer=layer,
        count=count,
        flops=_total(op.flops, steps) * count,
        bytes=_total(op.bytes, steps) * count,
        comm_bytes=op.comm_bytes * steps * count,
        compute_time_s=times[0] * count,
        memory_time_s=times[1] * count,
        comm_time_s=times[2] * count,
        time_s=time_s * count,
        bound=bound,
    )


@dataclass(frozen=True)
class PhaseFigures:
    """A phase's totals: FLOPs, DRAM bytes, time as Σ operator times, and the dominant bound."""

    flops: float
    bytes: float
    time_s: float
    bound: str | None
    comm_bytes: float = 0.0
    steps: int | None = None
    attainable_time_s: float | None = None

    @property
    def intensity(self) -> float:
        """Σ FLOPs / Σ bytes (0 for an empty phase)."""
        return self.flops / self.bytes if self.bytes else 0.0

    @property
    def performance_flops(self) -> float:
        """Attainable performance: Σ FLOPs / predicted time, FLOP/s (0 for an empty phase)."""
        return self.flops / self.time_s if self.time_s else 0.0

    def to_dict(self) -> dict[str, object]:
        """A ``prediction.phases.*`` entry of report.json."""
        out: dict[str, object] = {
            "flops": self.flops,
            "bytes": self.bytes,
            "intensity": self.intensity,
            "time_s": self.time_s,
            "attainable_time_s": self.attainable_time_s,
            "bound": self.bound,
            "performance_flops": self.performance_flops,
            "comm_bytes": self.comm_bytes,
        }
        if self.steps is not None:
            out["steps"] = self.steps
        return out


def phase_figures(
    rows: Iterable[OpResult], steps: int | None = None, calibrated: bool = False
) -> PhaseFigures:
    """Sum operator rows into phase figures; bound = the bound holding most predicted time;
    ``calibrated``: also Σ attainable time (rows carry it)."""
    flops = nbytes = comm = time = 0.0
    attainable = 0.0
    by_bound = dict.fromkeys(BOUNDS, 0.0)
    for r in rows:
        attainable += r.attainable_time_s or 0.0
        flops += r.flops
        nbytes += r.bytes
        comm += r.comm_bytes
        time += r.time_s
        by_bound[r.bound] += r.time_s
    bound = max(by_bound, key=by_bound.__getitem__) if time > 0 else None
    return PhaseFigures(flops, nbytes, time, bound, comm, steps, attainable if calibrated else None)
