"""The typed report document: report.json (docs/report-json.md) as frozen dataclasses.

Analysis builds it (:func:`rooflens.analysis.assemble.build_report`), the pipeline hands it out
(:class:`rooflens.pipeline.Report`) and every renderer under :mod:`rooflens.report` reads its
attributes.  It imports neither analysis nor report: both import it.

JSON crosses this module in exactly two places: :meth:`ReportDocument.to_json` writes
report.json (:meth:`DiffDocument.to_json` diff.json, the other document rooflens writes),
:func:`read_report` / :meth:`ReportDocument.from_json` read it (an older schema
loads with its missing sections at their defaults; what analysis can recompute is filled by
:func:`rooflens.analysis.assemble.upgrade`).

Each record (:class:`rooflens.records.Record`) keeps the keys its JSON object had, in their
order (``json_keys``), and any key this rooflens does not know (``extra``), so a document read
and written again is the same bytes — a 1.0 file stays a 1.0 file, a field added by a newer
minor version survives.  Values are SI
(seconds, bytes, FLOP, bytes/s, FLOP/s); ``None`` is a missing measurement (JSON ``null``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from rooflens.errors import InputError
from rooflens.records import Record, finish, many, one
from rooflens.schema import SCHEMA_VERSION

__all__ = [
    "Bottleneck",
    "Breakdown",
    "BusBandwidth",
    "Collective",
    "Comparison",
    "ComparisonNote",
    "ComparisonTotal",
    "DiffDocument",
    "DiffFinding",
    "DiffOperator",
    "DiffPhase",
    "DiffRun",
    "DiffSide",
    "Finding",
    "FindingsDelta",
    "Gpu",
    "Header",
    "KernelGroup",
    "KernelGroups",
    "KernelOperator",
    "LayerRow",
    "Measured",
    "NcuKernel",
    "OperatorRow",
    "PhaseFigures",
    "Phases",
    "PredictedOperator",
    "Prediction",
    "RankRow",
    "Ranks",
    "Record",
    "ReportDocument",
    "AtProbedHost",
    "AtRunHost",
    "RunEstimate",
    "RunFigures",
    "RunTimeline",
    "Scope",
    "StepRow",
    "Timeline",
    "TimelineKernel",
    "Tool",
    "UnderNsys",
    "UnmatchedKernel",
    "as_document",
    "read_report",
    "with_defaults",
]

F = float | None
I_ = int | None
S = str | None


# ---- header, tool, gpu --------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Tool(Record):
    name: str = "rooflens"
    version: S = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Header(Record):
    """What was run: model, workload and precision (``None``: not given, e.g. no model)."""

    model: S = None
    batch_size: I_ = None
    input_len: I_ = None
    output_len: I_ = None
    precision: S = None
    precision_label: S = None
    layers: I_ = None  # None: every layer of the config
    attention: S = None
    tp: I_ = None
    capture_command: S = None
    inputs: list[str] | None = None
    notes: list[str] | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Gpu(Record):
    """The hardware-table entry used and its roofline (FLOP/s, bytes/s)."""

    spec_key: S = None
    detected_name: S = None
    peak_flops: F = None
    bandwidth_bps: F = None
    peak_dtype: S = None
    mismatch_warning: S = None
    warnings: list[str] | None = None


# ---- prediction ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class PhaseFigures(Record):
    """Predicted totals of one phase (``steps``: decode_total only)."""

    flops: F = None
    bytes: F = None
    intensity: F = None
    time_s: F = None
    attainable_time_s: F = None
    bound: S = None
    performance_flops: F = None
    comm_bytes: F = None
    steps: I_ = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Phases(Record):
    prefill: PhaseFigures | None = None
    decode_first_token: PhaseFigures | None = None
    decode_total: PhaseFigures | None = None
    overall: PhaseFigures | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class PredictedOperator(Record):
    """One operator of the prediction (``count`` instances; times in seconds)."""

    name: str = ""
    phase: str = ""
    layer: I_ = None
    first_layer: I_ = None
    count: I_ = None
    flops: F = None
    bytes: F = None
    intensity: F = None
    compute_time_s: F = None
    memory_time_s: F = None
    comm_bytes: F = None
    comm_time_s: F = None
    time_s: F = None
    attainable_time_s: F = None
    l2_resident: bool | None = None
    bound: S = None


@dataclass(frozen=True, slots=True, kw_only=True)
class AtRunHost(Record):
    """The predicted run with every host cost × ``host_scale``, so that its host time is the
    measured run's (predict/attainable.run_timeline)."""

    host_scale: F = None
    bubble_ratio: F = None
    window_s: F = None


@dataclass(frozen=True, slots=True, kw_only=True)
class AtProbedHost(Record):
    """The predicted run with every host cost × ``host_scale`` = the workload's host probe over
    the calibration's: the prediction for the draw of the capture's own process."""

    host_scale: F = None
    bubble_ratio: F = None
    host_time_s: F = None
    window_s: F = None


@dataclass(frozen=True, slots=True, kw_only=True)
class RunEstimate(Record):
    """One predicted run of the built-in workload (host and device time, bubbles); the ranges:
    the same run at the fastest and slowest host process the calibration measured."""

    host_time_s: F = None
    device_time_s: F = None
    window_s: F = None
    bubble_ratio: F = None
    kernels: I_ = None
    host_time_range_s: list[float] | None = None
    bubble_ratio_range: list[float] | None = None
    at_run_host: AtRunHost | None = None
    at_probed_host: AtProbedHost | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class UnderNsys(Record):
    eager: RunEstimate | None = None
    cuda_graph: RunEstimate | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class RunTimeline(Record):
    host_costs: S = None
    decode: S = None
    eager: RunEstimate | None = None
    cuda_graph: RunEstimate | None = None
    under_nsys: UnderNsys | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Prediction(Record):
    phases: Phases | None = None
    operators: tuple[PredictedOperator, ...] = ()
    layers: I_ = None
    compute_dtype: S = None
    peak_flops: F = None
    bandwidth_bps: F = None
    interconnect_bps: F = None
    weight_bytes: F = None
    kv_cache_bytes: F = None
    memory_bytes: F = None
    notes: list[str] | None = None
    calibration: S = None
    run_timeline: RunTimeline | None = None
    decode_step_times_s: list[float] | None = None


# ---- timeline -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class RunFigures(Record):
    """One NVTX run (or the whole capture: ``overview``) — durations in s, ratios as fractions."""

    name: S = None
    instances: I_ = None
    range_duration_s: F = None
    kernel_count: I_ = None
    kernel_time_s: F = None
    gpu_busy_s: F = None
    window_s: F = None
    bubble_ratio: F = None
    inter_kernel_window_s: F = None
    inter_kernel_bubble_ratio: F = None
    host_bound_gap_s: F = None
    other_gap_s: F = None
    host_bound_gaps: I_ = None
    other_gaps: I_ = None


@dataclass(frozen=True, slots=True, kw_only=True)
class TimelineKernel(Record):
    """A kernel of the chosen run, launch order (``index``: 0-based position)."""

    index: I_ = None
    name: S = None
    short_name: S = None
    start_s: F = None
    duration_s: F = None
    share: F = None
    grid: list[int] | None = None
    block: list[int] | None = None
    registers_per_thread: I_ = None
    stream: I_ = None
    operator: S = None
    phase: S = None
    layer: I_ = None
    nvtx: list[str] | None = None
    evidence: S = None
    confidence: F = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Timeline(Record):
    source: S = None  # nsys | kineto
    path: S = None
    chosen_run: S = None
    gpu_names: list[str] | None = None
    overview: RunFigures | None = None
    runs: tuple[RunFigures, ...] = ()
    kernels: tuple[TimelineKernel, ...] = ()
    warnings: list[str] | None = None

    @property
    def chosen(self) -> RunFigures | None:
        """The chosen run's figures (the last run when the name is not among them)."""
        return next(
            (r for r in self.runs if r.name == self.chosen_run),
            self.runs[-1] if self.runs else None,
        )


# ---- NCU kernels and the run-level measurement ---------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class NcuKernel(Record):
    """One profiled kernel's NCU figures (percentages as NCU gives them, 0..100)."""

    index: I_ = None
    name: S = None
    short_name: S = None
    duration_s: F = None
    ncu_duration_s: F = None
    timeline_index: I_ = None
    dram_bytes: F = None
    flops: F = None
    dram_bandwidth_bps: F = None
    achieved_flops_per_s: F = None
    intensity: F = None
    sm_throughput_pct: F = None
    memory_throughput_pct: F = None
    dram_throughput_pct: F = None
    l1_hit_pct: F = None
    l2_hit_pct: F = None
    achieved_occupancy_pct: F = None
    theoretical_occupancy_pct: F = None
    registers_per_thread: I_ = None
    bound: S = None
    roof_fraction: F = None
    operator: S = None
    nvtx: list[str] | None = None
    findings: tuple[Finding, ...] = ()  # NCU's rules and rooflens's, on this kernel
    counters: S = None  # measured | propagated | scaled
    counters_from: I_ = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Measured(Record):
    kernel_count: I_ = None
    kernel_time_s: F = None
    flops: F = None
    dram_bytes: F = None
    achieved_flops_per_s: F = None
    achieved_bandwidth_bps: F = None
    intensity: F = None
    sm_efficiency_pct: F = None
    memory_throughput_pct: F = None
    compute_utilization: F = None
    memory_utilization: F = None
    bound: S = None


# ---- comparison and findings ----------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Scope(Record):
    """What the comparison covers: phases, layers and decode steps measured."""

    phases: list[str] | None = None
    layers: list[int] | None = None
    layer_count: I_ = None
    predicted_layer_count: I_ = None
    operators_present: list[str] | None = None
    decode_steps: I_ = None
    note: S = None


@dataclass(frozen=True, slots=True, kw_only=True)
class OperatorRow(Record):
    """One row of the per-operator comparison: predicted vs measured, SI units.

    ``ratio`` is measured / predicted; ``gpu_ratio`` attainable / ideal (what this GPU allows at
    the shape); ``implementation_ratio`` measured / attainable (what the implementation loses).
    """

    name: str = ""
    phase: str = ""
    predicted_time_s: F = None
    predicted_flops: F = None
    predicted_bytes: F = None
    predicted_bound: S = None
    measured_time_s: F = None
    measured_flops: F = None
    measured_bytes: F = None
    kernel_count: int = 0
    roof_fraction: F = None
    ratio: F = None
    attainable_time_s: F = None
    l2_resident: bool | None = None
    gpu_ratio: F = None
    implementation_ratio: F = None
    implementation_gap_s: F = None


@dataclass(frozen=True, slots=True, kw_only=True)
class KernelOperator(Record):
    index: I_ = None
    operator: S = None
    source: S = None  # nvtx | name | …: how the operator was attributed


@dataclass(frozen=True, slots=True, kw_only=True)
class ComparisonTotal(Record):
    predicted_time_s: F = None
    measured_time_s: F = None
    matched_measured_time_s: F = None
    performance_gap: F = None
    run_time_s: F = None
    run_performance_gap: F = None
    predicted_intensity: F = None
    measured_intensity: F = None
    intensity_gap: F = None
    predicted_bound: S = None
    measured_bound: S = None
    bound_agrees: bool | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class UnmatchedKernel(Record):
    index: I_ = None
    short_name: S = None
    operator: S = None
    duration_s: F = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ComparisonNote(Record):
    kind: S = None  # tensor_padding
    operator: S = None
    phase: S = None
    flops_ratio: F = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Finding(Record):
    """A finding: a ranked group (comparison.findings[]), a rule result on one NCU kernel
    (kernels[].findings[]: rule, source, severity, message, metric, value, threshold) or a
    rank finding (ranks.findings[]).

    ``count`` ``None``: a 1.0 one-per-kernel finding; ``time_at_stake_s`` counted as
    ``stake_basis`` says (attainable, ideal, duration, ncu, idle; absent in older files).
    """

    rule: S = None
    rules: list[str] | None = None
    source: S = None
    severity: S = None
    time_at_stake_s: F = None
    stake_basis: S = None
    subject: S = None
    count: I_ = None
    kernel_indices: list[int] | None = None
    message: S = None
    rule_message: S = None
    suggestion_key: S = None
    suggestion: S = None
    metric: S = None
    value: Any = None
    threshold: Any = None
    estimated_speedup: F = None
    also: dict[str, int] | None = None
    kernel_class: S = None
    operator: S = None
    phase: S = None
    kernels_per_instance: F = None
    measured_time_s: F = None
    predicted_time_s: F = None
    attainable_time_s: F = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Comparison(Record):
    scope: Scope | None = None
    operators: tuple[OperatorRow, ...] = ()
    kernel_operators: tuple[KernelOperator, ...] = ()
    total: ComparisonTotal | None = None
    unmatched_kernels: tuple[UnmatchedKernel, ...] = ()
    notes: tuple[ComparisonNote, ...] = ()
    findings: tuple[Finding, ...] = ()


# ---- kernel groups, breakdown, ranks --------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Bottleneck(Record):
    rule: S = None
    source: S = None
    metric: S = None
    count: I_ = None
    worst_value: Any = None
    threshold: Any = None
    severity: S = None


@dataclass(frozen=True, slots=True, kw_only=True)
class KernelGroup(Record):
    """NCU kernels of one name (section 三): duration-weighted averages, percentages 0..100."""

    name: S = None
    count: I_ = None
    duration_s: F = None
    operators: list[str] | None = None
    kernel_indices: list[int] | None = None
    finding_count: I_ = None
    sm_efficiency_avg_pct: F = None
    sm_efficiency_max_pct: F = None
    sm_efficiency_min_pct: F = None
    sm_efficiency_low_count: I_ = None
    sm_efficiency_count: I_ = None
    dram_bytes: F = None
    bandwidth_avg_bps: F = None
    bandwidth_max_bps: F = None
    bandwidth_min_bps: F = None
    l2_hit_avg_pct: F = None
    l2_hit_low_count: I_ = None
    l2_hit_count: I_ = None
    l1_hit_avg_pct: F = None
    l1_hit_low_count: I_ = None
    l1_hit_count: I_ = None
    bottlenecks: tuple[Bottleneck, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class KernelGroups(Record):
    thresholds: dict[str, float] | None = None
    averages: S = None
    rows: tuple[KernelGroup, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class StepRow(Record):
    step: I_ = None
    phase: S = None
    kernel_count: I_ = None
    measured_time_s: F = None
    predicted_time_s: F = None
    ratio: F = None


@dataclass(frozen=True, slots=True, kw_only=True)
class LayerRow(Record):
    layer: I_ = None
    kernel_count: I_ = None
    prefill_time_s: F = None
    decode_time_s: F = None
    predicted_prefill_time_s: F = None
    predicted_decode_time_s: F = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Breakdown(Record):
    steps: tuple[StepRow, ...] = ()
    layers: tuple[LayerRow, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class RankRow(Record):
    """One tensor-parallel rank's chosen run and its collectives (seconds)."""

    rank: I_ = None
    path: S = None
    gpu: S = None
    chosen_run: S = None
    range_duration_s: F = None
    kernel_count: I_ = None
    kernel_time_s: F = None
    gpu_busy_s: F = None
    bubble_ratio: F = None
    collectives: I_ = None
    communication_time_s: F = None
    exposed_communication_s: F = None
    overlapped_communication_s: F = None
    wait_s: F = None
    arrived_last: I_ = None
    wait_caused_s: F = None
    clock_offset_s: F = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Collective(Record):
    phase: S = None
    last_rank: I_ = None
    duration_s: F = None


@dataclass(frozen=True, slots=True, kw_only=True)
class BusBandwidth(Record):
    phase: S = None
    message_bytes: F = None
    collectives: I_ = None
    median_bus_bandwidth_bps: F = None
    max_bus_bandwidth_bps: F = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Ranks(Record):
    tp: I_ = None
    ranks: tuple[RankRow, ...] = ()
    collectives_matched: I_ = None
    collectives_unmatched: I_ = None
    run_duration_s: F = None
    collectives: tuple[Collective, ...] = ()
    bus_bandwidth: tuple[BusBandwidth, ...] = ()
    findings: tuple[Finding, ...] = ()


# ---- the document -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class ReportDocument(Record):
    """report.json: every section a renderer reads (``None``: the input had none of it)."""

    schema_version: str = SCHEMA_VERSION
    tool: Tool = field(default_factory=Tool)
    generated_at: S = None
    header: Header = field(default_factory=Header)
    gpu: Gpu = field(default_factory=Gpu)
    prediction: Prediction | None = None
    timeline: Timeline | None = None
    kernels: tuple[NcuKernel, ...] | None = None  # None: no NCU data (an empty list: none kept)
    measured: Measured | None = None
    comparison: Comparison | None = None
    kernel_groups: KernelGroups | None = None  # 1.1
    breakdown: Breakdown | None = None  # 1.3
    ranks: Ranks | None = None  # 1.3

    @classmethod
    def from_json(cls, data: bytes | str, path: str | Path = "report.json") -> ReportDocument:
        """Parse report.json text; not JSON, not a report or an unreadable major version:
        :class:`InputError` naming ``path``; a wrong shape inside: ``TypeError``."""
        try:
            raw = orjson.loads(data)
        except orjson.JSONDecodeError as exc:
            raise InputError(path, f"not valid JSON ({exc})") from None
        if not isinstance(raw, dict) or "schema_version" not in raw:
            raise InputError(path, "not a rooflens report.json (no schema_version)")
        major = str(raw["schema_version"]).split(".")[0]
        if major != SCHEMA_VERSION.split(".")[0]:
            raise InputError(
                path,
                f"schema_version {raw['schema_version']} is not readable by this rooflens"
                f" ({SCHEMA_VERSION})",
            )
        return cls.from_dict(with_defaults(raw))

    def to_json(self) -> bytes:
        """report.json as written: indented UTF-8 JSON with a final newline (the one writer)."""
        return orjson.dumps(self.to_dict(), option=orjson.OPT_INDENT_2) + b"\n"


# ---- the diff document (diff.json: ``rooflens diff A B``) -----------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class DiffSide(Record):
    """Where one side came from and what it ran."""

    label: str = ""  # A | B
    source: S = None  # the path given
    model: S = None
    batch_size: I_ = None
    input_len: I_ = None
    output_len: I_ = None
    gpu: S = None
    capture_command: S = None


@dataclass(frozen=True, slots=True, kw_only=True)
class DiffPhase(Record):
    """Measured kernel time per phase, A vs B (``change``: B / A − 1)."""

    phase: str = ""
    predicted_time_s: F = None
    a_time_s: F = None
    b_time_s: F = None
    change: F = None
    a_kernels: int = 0
    b_kernels: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class DiffRun(Record):
    """The chosen runs side by side; ``bubble_change_points``: B − A in percentage points."""

    a_name: S = None
    b_name: S = None
    a_range_duration_s: F = None
    b_range_duration_s: F = None
    a_kernel_time_s: F = None
    b_kernel_time_s: F = None
    a_gpu_busy_s: F = None
    b_gpu_busy_s: F = None
    a_bubble_ratio: F = None
    b_bubble_ratio: F = None
    a_kernel_count: I_ = None
    b_kernel_count: I_ = None
    range_change: F = None
    bubble_change_points: F = None


@dataclass(frozen=True, slots=True, kw_only=True)
class DiffOperator(Record):
    name: str = ""
    phase: str = ""
    predicted_time_s: F = None
    a_time_s: F = None
    b_time_s: F = None
    a_kernels: int = 0
    b_kernels: int = 0
    change: F = None
    delta_s: F = None


@dataclass(frozen=True, slots=True, kw_only=True)
class DiffFinding(Record):
    rule: S = None
    subject: S = None
    severity: S = None
    message: S = None


@dataclass(frozen=True, slots=True, kw_only=True)
class FindingsDelta(Record):
    appeared: tuple[DiffFinding, ...] = ()
    vanished: tuple[DiffFinding, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class DiffDocument(Record):
    """diff.json (docs/report-json.md): two reports against the model's baseline."""

    schema_version: str = "1.0"
    sides: tuple[DiffSide, ...] = ()
    same_workload: bool = True
    phases: tuple[DiffPhase, ...] = ()
    run: DiffRun = field(default_factory=DiffRun)
    operators: tuple[DiffOperator, ...] = ()
    findings: FindingsDelta = field(default_factory=FindingsDelta)

    def to_json(self) -> bytes:
        """diff.json as written (indented UTF-8 JSON, final newline)."""
        return orjson.dumps(self.to_dict(), option=orjson.OPT_INDENT_2) + b"\n"


# Top-level sections and the value an older or partial report gets when it lacks one.
_DEFAULTS: dict[str, Any] = {
    "schema_version": SCHEMA_VERSION,
    "tool": {"name": "rooflens", "version": None},
    "generated_at": None,
    "header": {},
    "gpu": {},
    "prediction": None,
    "timeline": None,
    "kernels": None,
    "measured": None,
    "comparison": None,
    "kernel_groups": None,  # added in 1.1; analysis.assemble.upgrade fills it for 1.0 files
    "breakdown": None,  # added in 1.3: time per step and per layer, measured vs predicted
    "ranks": None,  # added in 1.3: tensor-parallel ranks side by side (analysis/ranks.py)
}


def with_defaults(doc: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of ``doc`` with every top-level section present (missing ones at their default)."""
    out = {key: doc.get(key, default) for key, default in _DEFAULTS.items()}
    for key, value in doc.items():
        out.setdefault(key, value)
    return out


def read_report(path: str | Path) -> ReportDocument:
    """Read a report.json; a missing, unreadable or foreign file raises :class:`InputError`."""
    p = Path(path)
    try:
        data = p.read_bytes()
    except FileNotFoundError:
        raise InputError(p, "no such file") from None
    return ReportDocument.from_json(data, p)


def as_document(doc: ReportDocument | Mapping[str, Any]) -> ReportDocument:
    """``doc`` as the typed document (a plain dict, e.g. a test's hand-built one, is converted)."""
    return doc if isinstance(doc, ReportDocument) else ReportDocument.from_dict(with_defaults(doc))


finish(Tool)
finish(Header)
finish(Gpu)
finish(PhaseFigures)
finish(Phases, **{p: one(PhaseFigures) for p in ("prefill", "decode_first_token",
                                                    "decode_total", "overall")})  # fmt: skip
finish(PredictedOperator)
finish(AtRunHost)
finish(AtProbedHost)
finish(RunEstimate, at_run_host=one(AtRunHost), at_probed_host=one(AtProbedHost))
finish(UnderNsys, eager=one(RunEstimate), cuda_graph=one(RunEstimate))
finish(RunTimeline, eager=one(RunEstimate), cuda_graph=one(RunEstimate),
        under_nsys=one(UnderNsys))  # fmt: skip
finish(Prediction, phases=one(Phases), operators=many(PredictedOperator),
        run_timeline=one(RunTimeline))  # fmt: skip
finish(RunFigures)
finish(TimelineKernel)
finish(Timeline, overview=one(RunFigures), runs=many(RunFigures),
        kernels=many(TimelineKernel))  # fmt: skip
finish(NcuKernel, findings=many(Finding))
finish(Measured)
finish(Scope)
finish(OperatorRow)
finish(KernelOperator)
finish(ComparisonTotal)
finish(UnmatchedKernel)
finish(ComparisonNote)
finish(Finding)
finish(Comparison, scope=one(Scope), operators=many(OperatorRow),
        kernel_operators=many(KernelOperator), total=one(ComparisonTotal),
        unmatched_kernels=many(UnmatchedKernel), notes=many(ComparisonNote),
        findings=many(Finding))  # fmt: skip
finish(Bottleneck)
finish(KernelGroup, bottlenecks=many(Bottleneck))
finish(KernelGroups, rows=many(KernelGroup))
finish(StepRow)
finish(LayerRow)
finish(Breakdown, steps=many(StepRow), layers=many(LayerRow))
finish(RankRow)
finish(Collective)
finish(BusBandwidth)
finish(Ranks, ranks=many(RankRow), collectives=many(Collective),
        bus_bandwidth=many(BusBandwidth), findings=many(Finding))  # fmt: skip
finish(ReportDocument, tool=one(Tool), header=one(Header), gpu=one(Gpu),
        prediction=one(Prediction), timeline=one(Timeline), kernels=many(NcuKernel),
        measured=one(Measured), comparison=one(Comparison),
        kernel_groups=one(KernelGroups), breakdown=one(Breakdown),
        ranks=one(Ranks))  # fmt: skip
finish(DiffSide)
finish(DiffPhase)
finish(DiffRun)
finish(DiffOperator)
finish(DiffFinding)
finish(FindingsDelta, appeared=many(DiffFinding), vanished=many(DiffFinding))
finish(DiffDocument, sides=many(DiffSide), phases=many(DiffPhase), run=one(DiffRun),
        operators=many(DiffOperator), findings=one(FindingsDelta))  # fmt: skip
