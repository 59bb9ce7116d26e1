"""Which hardware-table entry a capture ran on, and the roofline that follows from it.

The GPU named in a trace (nsys ``TARGET_INFO_GPU``, Kineto ``deviceProperties``, NCU device
attributes) is looked up in ``gpus.toml``; ``--hardware`` wins, and a disagreement between the two
is a warning in the report, never a silent choice.  An unknown GPU is a warning too: the timeline
still works without a roofline.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Roof:
    """The roofline a kernel is measured against: peak FLOP/s and DRAM bytes/s of the GPU."""

    peak_flops: float
    bandwidth_bps: float


@dataclass
class GpuMatch:
    """The hardware-table entry used for the roofline, and how it was found."""

    detected_name: str | None
    spec_key: str | None
    roof: Roof | None
    peak_dtype: str
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """The ``gpu`` section of docs/report-json.md."""
        return {"spec_key": self.spec_key, "detected_name": self.detected_name,
                "peak_flops": self.roof.peak_flops if self.roof else None,
                "bandwidth_bps": self.roof.bandwidth_bps if self.roof else None,
                "peak_dtype": self.peak_dtype,
                "mismatch_warning": "; ".join(self.warnings) or None}  # fmt: skip


def match_gpu(detected: str | None, hardware: str | None, dtype: str = "fp16") -> GpuMatch:
    """Look the GPU up in the hardware table: ``hardware`` wins, a disagreement with the trace is a warning.

    An unknown GPU is a warning too (no roofline then), never an error: the timeline still works.
    """
    from rooflens.errors import RooflensError
    from rooflens.hardware import lookup

    warnings: list[str] = []
    gpu = None
    if hardware:
        gpu = lookup(hardware)  # an unknown --hardware is the user's error: let it raise
        if detected:
            try:
                if lookup(detected).key != gpu.key:
                    warnings.append(
                        f"--hardware {hardware} ({gpu.name}) differs from the GPU in the trace ({detected})"
                    )
            except RooflensError:
                warnings.append(
                    f"GPU in the trace ({detected}) is not in the hardware table; using --hardware {gpu.key}"
                )
    elif detected:
        try:
            gpu = lookup(detected)
        except RooflensError as exc:
            warnings.append(f"{exc}; pass --hardware KEY for roofline figures")
    if gpu is None:
        return GpuMatch(detected, None, None, dtype, warnings)
    try:
        roof = Roof(gpu.peak(dtype), gpu.bandwidth_bps)
    except RooflensError as exc:
        warnings.append(str(exc))
        roof = None
    return GpuMatch(detected, gpu.key, roof, dtype, warnings)
