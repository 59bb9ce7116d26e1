"""Plain data every trace reader produces: a :class:`Trace` (timeline) and :class:`NcuKernels` (counters).

A timeline can hold ten million kernels, so its tables are columnar numpy arrays and every name
is interned: ``kernels.name_id[i]`` indexes ``trace.strings``.  All times are seconds (float64,
on the capture's own clock), all sizes bytes.  Readers convert once; analyses never see a tool unit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

# Column types (documentation of intent; numpy's dtype typing is too narrow to check through arithmetic).
F64 = npt.NDArray[Any]  # float64 seconds / bytes
I64 = npt.NDArray[Any]  # int64 ids, counts, sizes

#: NVTX range kinds (``NvtxRanges.kind``): push/pop ranges nest on one thread, start/end ranges may cross threads.
RANGE_PUSH_POP = 0
RANGE_START_END = 1


class StringTable:
    """Interned strings: each distinct name stored once, referred to by an ``int`` id."""

    def __init__(self, values: list[str] | None = None) -> None:
        self.values: list[str] = []
        self._ids: dict[str, int] = {}
        for v in values or []:
            self.intern(v)

    def intern(self, text: str) -> int:
        """Id of ``text``, adding it when new."""
        sid = self._ids.get(text)
        if sid is None:
            sid = len(self.values)
            self.values.append(text)
            self._ids[text] = sid
        return sid

    def __getitem__(self, sid: int) -> str:
        return self.values[int(sid)]

    def __len__(self) -> int:
        return len(self.values)


def _empty_f64() -> F64:
    return np.zeros(0, dtype=np.float64)


def _empty_i64() -> I64:
    return np.zeros(0, dtype=np.int64)


@dataclass
class Kernels:
    """GPU kernels, one row each (columns of equal length).

    ``name_id``/``short_id`` index the trace's string table (full demangled and short name);
    ``pid`` is the launching process; ``correlation`` joins :class:`Launches` within that process.
    ``grid``/``block`` are ``(n, 3)``; ``shared_mem_bytes`` is static + dynamic shared memory per block.
    """

    name_id: I64 = field(default_factory=_empty_i64)
    short_id: I64 = field(default_factory=_empty_i64)
    start_s: F64 = field(default_factory=_empty_f64)
    end_s: F64 = field(default_factory=_empty_f64)
    device: I64 = field(default_factory=_empty_i64)
    stream: I64 = field(default_factory=_empty_i64)
    correlation: I64 = field(default_factory=_empty_i64)
    pid: I64 = field(default_factory=_empty_i64)
    grid: I64 = field(default_factory=lambda: np.zeros((0, 3), dtype=np.int64))
    block: I64 = field(default_factory=lambda: np.zeros((0, 3), dtype=np.int64))
    registers_per_thread: I64 = field(default_factory=_empty_i64)
    shared_mem_bytes: I64 = field(default_factory=_empty_i64)

    def __len__(self) -> int:
        return int(self.start_s.shape[0])


@dataclass
class Launches:
    """Host-side CUDA API calls that launched GPU work (runtime/driver), one row each."""

    correlation: I64 = field(default_factory=_empty_i64)
    pid: I64 = field(default_factory=_empty_i64)
    tid: I64 = field(default_factory=_empty_i64)
    start_s: F64 = field(default_factory=_empty_f64)
    end_s: F64 = field(default_factory=_empty_f64)

    def __len__(self) -> int:
        return int(self.start_s.shape[0])


@dataclass
class NvtxRanges:
    """NVTX ranges (nsys) or ``record_function`` ranges (Kineto), one row each.

    ``kind`` is :data:`RANGE_PUSH_POP` or :data:`RANGE_START_END`.  ``parent`` is the row of
    the enclosing range on the same thread (-1 for none) and ``depth`` its nesting level; both
    are filled by :func:`rooflens.traces.nesting.assign_nesting` so every reader agrees.
    """

    name_id: I64 = field(default_factory=_empty_i64)
    start_s: F64 = field(default_factory=_empty_f64)
    end_s: F64 = field(default_factory=_empty_f64)
    pid: I64 = field(default_factory=_empty_i64)
    tid: I64 = field(default_factory=_empty_i64)
    kind: I64 = field(default_factory=_empty_i64)
    depth: I64 = field(default_factory=_empty_i64)
    parent: I64 = field(default_factory=_empty_i64)

    def __len__(self) -> int:
        return int(self.start_s.shape[0])


@dataclass
class Copies:
    """Memcpy and memset operations on the GPU (``is_memset`` tells which); sizes in bytes."""

    start_s: F64 = field(default_factory=_empty_f64)
    end_s: F64 = field(default_factory=_empty_f64)
    device: I64 = field(default_factory=_empty_i64)
    stream: I64 = field(default_factory=_empty_i64)
    correlation: I64 = field(default_factory=_empty_i64)
    pid: I64 = field(default_factory=_empty_i64)
    size_bytes: I64 = field(default_factory=_empty_i64)
    is_memset: npt.NDArray[np.bool_] = field(default_factory=lambda: np.zeros(0, dtype=bool))

    def __len__(self) -> int:
        return int(self.start_s.shape[0])


@dataclass(frozen=True)
class GpuInfo:
    """The GPU as the trace describes it; any field the source lacks is ``None``."""

    name: str
    device: int = 0
    sm_count: int | None = None
    memory_bandwidth_bps: float | None = None
    l2_cache_bytes: int | None = None
    clock_hz: float | None = None
    memory_bytes: int | None = None
    compute_capability: str | None = None


@dataclass
class Trace:
    """One timeline capture: kernels, launches, NVTX ranges, copies and GPUs, in SI units."""

    source: str  # "nsys" | "kineto"
    path: str
    strings: StringTable
    kernels: Kernels
    launches: Launches
    ranges: NvtxRanges
    copies: Copies
    gpus: list[GpuInfo] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    #: Times are relative to this instant of the capture clock (absolute = origin + ``start_s``).
    time_origin_s: float = 0.0

    def self_check(self) -> None:
        """Assert the invariants every reader must keep (tests call this after reading)."""
        k = self.kernels
        n = len(k)
        for col in (k.name_id, k.short_id, k.end_s, k.device, k.stream, k.correlation, k.pid):
            assert col.shape == (n,), "kernel columns differ in length"
        assert k.grid.shape == (n, 3) and k.block.shape == (n, 3)
        assert bool(np.all(k.end_s >= k.start_s)), "kernel ends before it starts"
        assert bool(np.all(self.ranges.end_s >= self.ranges.start_s)), "range ends before it starts"
        if n:
            assert int(k.name_id.max()) < len(self.strings)


@dataclass
class RuleResult:
    """One finding of an NCU rule (or a rooflens rule): what fired, how bad, what it may gain."""

    rule: str
    name: str
    kind: str  # NCU message type: "optimization", "warning", "error", "ok", ...
    message: str
    estimated_speedup_pct: float | None = None
    # NCU's speedup type: "global" = the kernel's runtime, "local" = only the section's own metric.
    speedup_type: str | None = None
    # NCU's focus metric: what fired the rule, its value, and NCU's own condition text.
    focus_metric: str | None = None
    focus_value: float | None = None
    focus_info: str | None = None


@dataclass
class NcuKernel:
    """One kernel profiled by Nsight Compute, metrics already in SI base units (``_pct`` stays percent)."""

    id: int
    name: str
    demangled_name: str
    nvtx: list[str] = field(default_factory=list)
    metrics: dict[str, float] = field(default_factory=dict)
    rules: list[RuleResult] = field(default_factory=list)
    grid: tuple[int, int, int] | None = None
    block: tuple[int, int, int] | None = None
    device_name: str | None = None


@dataclass
class NcuKernels:
    """All kernels of one Nsight Compute report or raw CSV export, in profiling order."""

    source: str  # "ncu-rep" | "ncu-csv"
    path: str
    kernels: list[NcuKernel]
    device_name: str | None = None
    #: Columns left out (a unit rooflens does not convert and does not need).
    notes: list[str] = field(default_factory=list)
    #: Damage found while reading, with counts ("1 kernel lost", "units assumed …"): show these.
    warnings: list[str] = field(default_factory=list)
