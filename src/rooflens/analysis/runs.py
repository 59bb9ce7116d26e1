"""Runs and kernel rows of a timeline: the data model and per-run computations (REPORT_SPEC 二).

:mod:`rooflens.analysis.timeline` orchestrates these; the modules it calls for CUDA-graph replay
labels and for inferred runs (captures without NVTX) use the types and helpers here, so nothing
imports the orchestrator back.

Kernels join NVTX ranges by nsys projection (:mod:`rooflens.traces.projection`).  Runs are the
ranges named ``Run[j]`` of the built-in workload, else ``Layer[i]#Run[j]`` (the original SGLang
report's form); ranges of one name form one run and a run with several instances (prefill +
decode steps) sums them.  Per instance: range duration; GPU busy = length of the union of its
kernels' intervals; window = [min(range start, first kernel start), max(range end, last kernel
end)]; bubble ratio = 1 − busy / window; inter-kernel bubble over [first kernel start, last
kernel end]; each idle gap between kernels is *host-bound* when the launch call of the kernel
after it started only after every earlier kernel had finished, else *other*.  All in seconds.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from rooflens.errors import RooflensError
from rooflens.traces.intervals import segment_gaps
from rooflens.traces.model import RANGE_START_END, Trace
from rooflens.traces.projection import Projection, ancestor_in, start_end_members
from rooflens.vocab import LAYER_RE, LAYER_RUN_RE, PHASE_RE, RUN_RE, operator_of_range

WHOLE_TRACE = "<whole trace>"


@dataclass
class RunSummary:
    """One run (all instances of one range name, or the whole trace), durations in seconds."""

    name: str
    instances: int
    range_duration_s: float
    kernel_count: int
    kernel_time_s: float
    gpu_busy_s: float
    window_s: float
    inter_kernel_window_s: float
    host_bound_gap_s: float
    other_gap_s: float
    host_bound_gaps: int
    other_gaps: int
    first_start_s: float = 0.0

    @property
    def bubble_ratio(self) -> float | None:
        """1 − busy / window (None when the window is empty)."""
        return 1.0 - self.gpu_busy_s / self.window_s if self.window_s > 0 else None

    @property
    def inter_kernel_bubble_ratio(self) -> float | None:
        """Idle share of [first kernel start, last kernel end]."""
        w = self.inter_kernel_window_s
        return 1.0 - self.gpu_busy_s / w if w > 0 else None

    def to_dict(self) -> dict[str, Any]:
        """The ``timeline.runs[]`` entry of docs/report-json.md."""
        return {
            "name": self.name, "instances": self.instances,
            "range_duration_s": self.range_duration_s, "kernel_count": self.kernel_count,
            "kernel_time_s": self.kernel_time_s, "gpu_busy_s": self.gpu_busy_s,
            "window_s": self.window_s, "bubble_ratio": self.bubble_ratio,
            "inter_kernel_window_s": self.inter_kernel_window_s,
            "inter_kernel_bubble_ratio": self.inter_kernel_bubble_ratio,
            "host_bound_gap_s": self.host_bound_gap_s, "other_gap_s": self.other_gap_s,
            "host_bound_gaps": self.host_bound_gaps, "other_gaps": self.other_gaps,
        }  # fmt: skip


@dataclass(slots=True)
class TimelineKernel:
    """One kernel of the chosen run, in launch order."""

    index: int
    name: str
    short_name: str
    start_s: float
    duration_s: float
    share: float
    grid: tuple[int, int, int]
    block: tuple[int, int, int]
    registers_per_thread: int
    stream: int
    operator: str | None
    phase: str | None
    layer: int | None
    nvtx: list[str] = field(default_factory=list)
    #: How operator/phase/layer were attributed without NVTX (``name``, ``position``,
    #: ``name+position``; analysis/structure.py) and how sure (0–1); None from NVTX.
    evidence: str | None = None
    confidence: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """The ``timeline.kernels[]`` entry of docs/report-json.md."""
        d = {f: getattr(self, f) for f in self.__slots__}
        d["grid"], d["block"], d["nvtx"] = list(self.grid), list(self.block), list(self.nvtx)
        if self.evidence is None:  # NVTX attribution: the fields say nothing
            del d["evidence"], d["confidence"]
        return d


@dataclass
class TimelineAnalysis:
    """Result of :func:`analyze_timeline`: runs side by side, the chosen run's kernels, GPUs."""

    source: str
    path: str
    chosen_run: str
    runs: list[RunSummary]
    chosen: RunSummary
    kernels: list[TimelineKernel]
    overview: RunSummary
    gpu_names: list[str]
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """The ``timeline`` section of docs/report-json.md."""
        runs = [r.to_dict() for r in self.runs]
        if self.chosen.name not in {r.name for r in self.runs}:
            runs.append(self.chosen.to_dict())
        return {
            "source": self.source, "path": self.path, "chosen_run": self.chosen_run,
            "gpu_names": self.gpu_names, "overview": self.overview.to_dict(), "runs": runs,
            "kernels": [k.to_dict() for k in self.kernels], "warnings": self.warnings,
        }  # fmt: skip

    def self_check(self) -> None:
        """Invariants: busy ≤ Σ kernel time and ≤ window; ratios within [0, 1]."""
        for r in [*self.runs, self.chosen, self.overview]:
            assert r.gpu_busy_s <= r.kernel_time_s * (1 + 1e-9) + 1e-12, r.name
            assert r.gpu_busy_s <= r.window_s * (1 + 1e-9) + 1e-12, r.name
            b = r.bubble_ratio
            assert b is None or -1e-9 <= b <= 1 + 1e-9, r.name


def chosen_run_of(timeline: dict[str, Any] | None) -> dict[str, Any] | None:
    """The chosen run's entry in a ``timeline`` section (:meth:`TimelineAnalysis.to_dict`), or
    None without a timeline or when the chosen run is not listed."""
    tl = timeline or {}
    return next((r for r in tl.get("runs") or [] if r.get("name") == tl.get("chosen_run")), None)


def summarize_groups(
    trace: Trace, proj: Projection, names: list[str], rows: np.ndarray, group: np.ndarray
) -> list[RunSummary]:
    """One :class:`RunSummary` per run name, summing the figures of its instances (module docstring).

    ``rows`` are the instance ranges (sorted), ``group[i]`` the index in ``names`` of ``rows[i]``.
    Vectorised over all instances at once: a long session has tens of thousands of runs.
    """
    k, r = trace.kernels, trace.ranges
    inst = _members(trace, proj, rows)
    sel = np.flatnonzero(inst >= 0)
    pos = np.searchsorted(rows, inst[sel])
    g = segment_gaps(pos, k.start_s[sel], k.end_s[sel], proj.launch_start_s[sel])
    n_inst, n_grp = rows.size, len(names)
    rs, re_ = r.start_s[rows], r.end_s[rows]
    first, last = rs.copy(), re_.copy()
    first[g.seg_ids] = np.minimum(rs[g.seg_ids], g.first_start)
    last[g.seg_ids] = np.maximum(re_[g.seg_ids], g.last_end)

    def per_inst(values: np.ndarray) -> np.ndarray:
        out = np.zeros(n_inst)
        out[g.seg_ids] = values
        return out

    def total(values: np.ndarray) -> list[float]:
        return np.bincount(group, weights=values, minlength=n_grp).tolist()

    kcount = np.bincount(group[pos], minlength=n_grp).tolist()
    ktime = np.bincount(group[pos], weights=k.end_s[sel] - k.start_s[sel], minlength=n_grp).tolist()
    starts = np.full(n_grp, np.inf)
    np.minimum.at(starts, group, rs)
    cols = [total(x) for x in (re_ - rs, per_inst(g.busy), last - first, per_inst(g.last_end - g.first_start),
                                per_inst(g.host_gap), per_inst(g.other_gap), per_inst(g.host_count), per_inst(g.other_count))]  # fmt: skip
    inst_n = np.bincount(group, minlength=n_grp).tolist()
    return [
        RunSummary(names[i], inst_n[i], cols[0][i], kcount[i], ktime[i], cols[1][i], cols[2][i], cols[3][i],
                   cols[4][i], cols[5][i], int(cols[6][i]), int(cols[7][i]), float(starts[i]))
        for i in range(n_grp)
    ]  # fmt: skip


def _lookup(
    ids: np.ndarray, values: np.ndarray, keys: np.ndarray, default: np.ndarray
) -> np.ndarray:
    """``values`` of segment ``keys`` (``ids`` sorted), ``default`` where a key has no segment."""
    if not ids.size:
        return default
    pos = np.clip(np.searchsorted(ids, keys), 0, ids.size - 1)
    return np.where(ids[pos] == keys, values[pos], default)


def whole_trace(trace: Trace, proj: Projection) -> RunSummary:
    """All kernels as one run over [first kernel start, last kernel end] (no ranges needed)."""
    k = trace.kernels
    inst = np.zeros(len(k), dtype=np.int64)
    g = segment_gaps(inst, k.start_s, k.end_s, proj.launch_start_s)
    span = float(np.sum(g.last_end - g.first_start))
    return RunSummary(
        name=WHOLE_TRACE, instances=1, range_duration_s=span, kernel_count=len(k),
        kernel_time_s=float(np.sum(k.end_s - k.start_s)), gpu_busy_s=float(g.busy.sum()),
        window_s=span, inter_kernel_window_s=span, host_bound_gap_s=float(g.host_gap.sum()),
        other_gap_s=float(g.other_gap.sum()), host_bound_gaps=int(g.host_count.sum()),
        other_gaps=int(g.other_count.sum()), first_start_s=float(g.first_start.min(initial=0.0)),
    )  # fmt: skip


def run_groups(
    trace: Trace, selector: str | None = None
) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Run names, their instance range rows (sorted) and each row's index into the names.

    By default: ranges named ``Run[j]``, else ``Layer[i]#Run[j]``, one run per name.
    ``selector`` is a range name, or else a regular expression searched in range names; all
    ranges it picks form one run named after the selector.  Names are classified once per
    interned string, so this is vectorised over the ranges.
    """
    empty: tuple[list[str], np.ndarray, np.ndarray] = (
        [],
        np.zeros(0, np.int64),
        np.zeros(0, np.int64),
    )
    if not len(trace.ranges):
        return empty
    strings = trace.strings.values
    if selector is not None:
        wanted = np.array([x == selector for x in strings], dtype=bool)
        if not wanted[trace.ranges.name_id].any():
            try:
                rx = re.compile(selector)
            except re.error as exc:
                raise RooflensError(
                    f"--run {selector!r}: not a range name and not a valid regex ({exc})"
                ) from exc
            wanted = np.array([bool(rx.search(x)) for x in strings], dtype=bool)
        rows = np.flatnonzero(wanted[trace.ranges.name_id])
        return ([selector], rows, np.zeros(rows.size, np.int64)) if rows.size else empty
    for rx in (RUN_RE, LAYER_RUN_RE):
        is_run = np.array([bool(rx.match(x)) for x in strings], dtype=bool)
        rows = np.flatnonzero(is_run[trace.ranges.name_id])
        if rows.size:
            ids, group = np.unique(trace.ranges.name_id[rows], return_inverse=True)
            return [strings[i] for i in ids.tolist()], rows, group.astype(np.int64)
    return empty


def _stack_names(trace: Trace, innermost: np.ndarray) -> np.ndarray:
    """Name ids of every range on the stacks whose innermost rows are ``innermost`` (-1: none)."""
    if not len(trace.ranges):
        return np.zeros(0, dtype=np.int64)
    rows = np.unique(innermost[innermost >= 0])
    seen = [rows]
    while rows.size:  # one level up per pass: as many passes as the nesting is deep
        rows = np.unique(trace.ranges.parent[rows])
        rows = rows[rows >= 0]
        seen.append(rows)
    return np.unique(trace.ranges.name_id[np.concatenate(seen)])


def _string_labels(
    trace: Trace, ids: np.ndarray
) -> tuple[list[str | None], list[str | None], list[int | None]]:
    """Per interned string: the operator, phase and layer it names, for the strings ``ids`` only
    (a long session interns a name per run; classifying them all would be wasted)."""
    n = len(trace.strings)
    ops: list[str | None] = [None] * n
    phases: list[str | None] = [None] * n
    layers: list[int | None] = [None] * n
    for i in ids.tolist():
        name = trace.strings[i]
        ops[i] = operator_of_range(name)
        phases[i] = name if PHASE_RE.match(name) else None
        m = LAYER_RE.search(name)
        layers[i] = int(m.group(1)) if m else None
    return ops, phases, layers


def _nearest_label(trace: Trace, innermost: np.ndarray, labels: list[Any]) -> list[Any]:
    """For each kernel, the label of the innermost range on its stack that has one (else None)."""
    has = np.array([x is not None for x in labels], dtype=bool)
    rows = ancestor_in(
        trace, innermost, has[trace.ranges.name_id] if len(trace.ranges) else has[:0]
    )
    names = trace.ranges.name_id[np.maximum(rows, 0)] if len(trace.ranges) else rows
    return [
        labels[n] if r >= 0 else None for r, n in zip(rows.tolist(), names.tolist(), strict=True)
    ]


def _range_paths(trace: Trace, innermost: np.ndarray) -> list[list[str]]:
    """Range stack (outermost first) of each kernel; equal stacks are one shared list (memo on parent, name)."""
    r = trace.ranges
    memo: dict[tuple[int, int], int] = {}
    texts: list[list[str]] = [[]]
    path_of: dict[int, int] = {-1: 0}

    def path(row: int) -> int:
        chain = []
        while row not in path_of:
            chain.append(row)
            row = int(r.parent[row])
        pid = path_of[row]
        for rr in reversed(chain):
            key = (pid, int(r.name_id[rr]))
            if key not in memo:
                memo[key] = len(texts)
                texts.append([*texts[pid], trace.strings[key[1]]])
            pid = path_of[rr] = memo[key]
        return pid

    return [texts[path(int(x))] for x in innermost.tolist()]


def run_kernels(trace: Trace, proj: Projection, members: np.ndarray) -> list[TimelineKernel]:
    """The kernels ``members`` (rows) as report rows, in launch order (launch call start, then GPU start).

    Labels come from the kernel's range stack: operator = innermost operator range, phase =
    innermost ``prefill``/``decode[k]``, layer = the ``i`` of the innermost ``Layer[i]…`` range.
    """
    k = trace.kernels
    launch = np.where(
        np.isnan(proj.launch_start_s[members]), k.start_s[members], proj.launch_start_s[members]
    )
    order = members[np.lexsort((k.start_s[members], launch))]
    inner = proj.innermost[order]
    ops, phases, layers = _string_labels(trace, _stack_names(trace, inner))
    dur = k.end_s[order] - k.start_s[order]
    total = float(dur.sum())
    share = dur / total if total > 0 else np.zeros_like(dur)
    s = trace.strings.values
    columns = (
        range(order.size), [s[i] for i in k.name_id[order].tolist()], [s[i] for i in k.short_id[order].tolist()],
        k.start_s[order].tolist(), dur.tolist(), share.tolist(), map(tuple, k.grid[order].tolist()),
        map(tuple, k.block[order].tolist()), k.registers_per_thread[order].tolist(), k.stream[order].tolist(),
        *(_nearest_label(trace, inner, lab) for lab in (ops, phases, layers)), _range_paths(trace, inner),
    )  # fmt: skip
    return [TimelineKernel(*row) for row in zip(*columns, strict=True)]


def _members(trace: Trace, proj: Projection, rows: np.ndarray) -> np.ndarray:
    """instance_of per kernel for the range ``rows`` (nearest such range on each kernel's stack)."""
    wanted = np.zeros(len(trace.ranges), dtype=bool)
    wanted[rows] = True
    out = ancestor_in(trace, proj.innermost, wanted)
    # Start/end ranges are on no thread's stack: their kernels are launched inside them in-process.
    for row in rows[trace.ranges.kind[rows] == RANGE_START_END]:
        hit = start_end_members(trace, proj, int(row))
        out[hit] = np.where(out[hit] < 0, row, out[hit])
    return out
