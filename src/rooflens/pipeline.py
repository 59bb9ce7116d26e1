"""Where the stages meet — and the Python API (``rooflens.predict``, ``rooflens.analyze``,
``rooflens.load_report``).

Read top to bottom, one report is (``analyse_inputs`` → ``measure`` → ``_prediction`` →
``build_report``)::

    inputs (run folder or profile files) ──► settings (manifest + your overrides)
        ──► traces.* readers ──► analysis.timeline / analysis.kernels      (measure)
        ──► model + hardware + predict                                      (predict)
        ──► analysis.assemble.build_report: compare + findings + self-check   (compare)
        ──► Report (report.json document) ──► report.* renderers            (render)

The commands (``rooflens report``, ``analyze``, ``diff``) parse options and call these
functions; notebooks call them directly::

    import rooflens
    rep = rooflens.analyze("tests/fixtures/h200_llama3_8b_decode16_eager", model="llama-3-8b")
    for row in rep.operators:
        print(row.name, row.phase, row.predicted_time_s, row.measured_time_s)
    rep.to_pandas()        # a DataFrame of the operator rows, when pandas is installed
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rooflens import __version__
from rooflens.errors import InputError, RooflensError
from rooflens.report_model import Finding, OperatorRow, ReportDocument
from rooflens.schema import SCHEMA_VERSION
from rooflens.settings import (
    _precision_label,
    _precision_text,
    _workload_settings,
    manifest_settings,
    read_host_probe,
    read_manifest,
    run_dir_files,
)

if TYPE_CHECKING:
    from rooflens.model.architecture import Architecture


@dataclass(frozen=True)
class Report:
    """A report: the typed document (:class:`rooflens.report_model.ReportDocument`) with
    shortcuts to its most used parts; ``doc`` is the same as plain JSON data (report.json)."""

    document: ReportDocument

    @cached_property
    def doc(self) -> dict[str, Any]:
        """report.json as plain data (dicts and lists), computed once."""
        return self.document.to_dict()

    @property
    def operators(self) -> list[OperatorRow]:
        """Predicted vs measured per operator and phase (empty without a prediction)."""
        comparison = self.document.comparison
        return list(comparison.operators) if comparison else []

    @property
    def findings(self) -> list[Finding]:
        """Ranked findings (rule, severity, message, time at stake, suggestion)."""
        comparison = self.document.comparison
        return list(comparison.findings) if comparison else []

    @property
    def chosen_run(self) -> dict[str, Any]:
        """The chosen run's timeline figures (range duration, busy, bubble ratio …), {} without one."""
        timeline = self.document.timeline
        if timeline is None:
            return {}
        return next((r.to_dict() for r in timeline.runs if r.name == timeline.chosen_run), {})

    def to_dict(self) -> dict[str, Any]:
        return self.doc

    def to_json(self) -> bytes:
        """report.json's bytes, exactly as ``rooflens report`` writes them."""
        return self.document.to_json()

    def to_pandas(self) -> Any:
        """The operator rows as a pandas DataFrame (pandas is optional: an error says how to get it)."""
        try:
            import pandas as pd
        except ImportError:
            raise RooflensError("Report.to_pandas needs pandas: pip install pandas") from None
        return pd.DataFrame([r.to_dict() for r in self.operators])


def predict(
    model: str,
    hardware: str = "H100",
    *,
    precision: str = "W16A16KV16",
    batch: int = 1,
    input_len: int = 128,
    output_len: int = 1,
    layers: int | None = None,
    tp: int = 1,
) -> Any:
    """Roofline prediction (:class:`rooflens.predict.Prediction`) of a preset or config.json path."""
    from rooflens.hardware import lookup
    from rooflens.model import load_architecture
    from rooflens.predict import Precision, Workload
    from rooflens.predict import predict as _predict

    arch = load_architecture(model)
    workload = Workload(
        batch, input_len, output_len, Precision.parse(precision), layers=layers, tp=tp
    )
    return _predict(arch, lookup(hardware), workload)


def analyze(
    inputs: str | Path | Sequence[str | Path],
    *,
    model: str | None = None,
    hardware: str | None = None,
    precision: str | None = None,
    batch: int | None = None,
    input_len: int | None = None,
    output_len: int | None = None,
    layers: int | None = None,
    run: str | None = None,
) -> Report:
    """The integrated report of a run folder or profile files — the numbers ``rooflens report`` writes.

    Settings not given come from the run folder's manifest (as for ``rooflens report``).
    """
    from rooflens.analysis.assemble import build_report

    paths = [Path(inputs)] if isinstance(inputs, str | Path) else [Path(p) for p in inputs]
    if not paths:
        raise RooflensError("analyze: give a run folder or profile files")
    for p in paths:
        if not p.exists():
            raise InputError(p, "no such file or folder")
    overrides = {"model": model, "batch": batch, "input_len": input_len,
                 "output_len": output_len, "layers": layers, "precision": precision}  # fmt: skip
    return Report(build_report(**analyse_inputs(paths, overrides, hardware, run)))


_TIMELINE_KINDS = {"nsys-sqlite", "nsys-rep", "kineto"}


def split_sources(files: list[Path]) -> tuple[Path | None, Path | None]:
    """(timeline source, NCU source) among ``files``; at most one of each."""
    from rooflens.traces import sniff

    timeline: Path | None = None
    ncu: Path | None = None
    for f in files:
        if sniff(f) in _TIMELINE_KINDS:
            if timeline is not None:
                raise RooflensError(
                    f"{f}: a second timeline source (already have {timeline}); pass one"
                )
            timeline = f
        else:
            if ncu is not None:
                raise RooflensError(
                    f"{f}: a second Nsight Compute source (already have {ncu}); pass one"
                )
            ncu = f
    return timeline, ncu


def measure(files: list[Path], run: str | None, hardware: str | None) -> dict[str, Any]:
    """Read and analyse ``files``; the report.json subset as a dict."""
    from rooflens.analysis.kernels import analyze_kernels, tensor_dtype
    from rooflens.analysis.ranks import analyze_ranks
    from rooflens.analysis.timeline import analyze_timeline
    from rooflens.commands.progress import reading, step
    from rooflens.hardware.match import match_gpu
    from rooflens.traces import load_ncu, load_timeline
    from rooflens.traces.split import split_by_process

    tl_path, ncu_path = split_sources(files)
    trace = ncu = timeline = None
    if tl_path:
        with reading(tl_path):
            trace = load_timeline(tl_path)
    if ncu_path:
        with reading(ncu_path):
            ncu = load_ncu(ncu_path)
    rank_traces = split_by_process(trace) if trace is not None else []
    if len(rank_traces) > 1:  # tensor-parallel ranks in one capture: rank 0 is the main timeline
        trace = rank_traces[0]
    if trace is not None:
        with step(f"analysing {len(trace.kernels):,} kernels…"):
            timeline = analyze_timeline(trace, run)
    detected = (trace.gpus[0].name if trace and trace.gpus else None) or (
        ncu.device_name if ncu else None
    )
    gpu = match_gpu(detected, hardware, tensor_dtype(ncu))
    doc: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "rooflens", "version": __version__},
        "gpu": gpu.to_dict(),
        "timeline": timeline.to_dict() if timeline else None,
        "kernels": None,
        "measured": None,
    }
    if timeline is not None and len(rank_traces) > 1:
        others = [analyze_timeline(t, run) for t in rank_traces[1:]]
        doc["ranks"] = analyze_ranks([timeline, *others])
    if ncu is not None:
        ka = analyze_kernels(ncu, timeline, gpu.roof)
        doc["kernels"], doc["measured"] = ka.to_dict()["kernels"], ka.measured
        if timeline is not None and ka.unmatched:
            gpu.warnings.append(
                f"{ka.unmatched} NCU kernels not found in {timeline.chosen_run}: NCU durations used"
            )
            doc["gpu"] = gpu.to_dict()
    # Damage the readers found (rows dropped, units assumed): shown loudly by `analyze`, and
    # carried into the report's notes; the timeline's own are in timeline.warnings already.
    doc["ncu_warnings"] = list(ncu.warnings) if ncu is not None else []
    doc["reader_warnings"] = [
        f"{path}: {w}"
        for path, source in ((tl_path, trace), (ncu_path, ncu))
        if path is not None and source is not None
        for w in source.warnings
    ]
    return doc


def _prediction(
    arch: Architecture | None,
    settings: dict[str, Any],
    spec_key: str | None,
    timeline: dict[str, Any] | None = None,
) -> tuple[dict[str, Any] | None, list[str]]:
    """The predictor's ``prediction`` section, or None (with a note) without a model or GPU;
    with a measured ``timeline``, its chosen run's host time enters the predicted run timeline
    (the run at that host speed)."""
    from rooflens.hardware import lookup
    from rooflens.predict import Precision, Workload, predict

    if arch is None:
        return None, ["no model given (--model or manifest): prediction and comparison skipped"]
    if not spec_key:
        return None, ["no GPU spec (--hardware or a detected GPU): prediction skipped"]
    workload = Workload(
        batch=settings["batch"],
        input_len=settings["input_len"],
        output_len=settings["output_len"],
        precision=Precision.parse(settings["precision"]),
        layers=settings.get("layers"),
        tp=int(settings.get("tp") or 1),
    )
    from rooflens.hardware.calibration import choose
    from rooflens.predict.steps import decode_step_times

    gpu = lookup(spec_key)
    cal, cal_note = choose(settings.get("calibration"), gpu.key)
    from rooflens.analysis.runs import chosen_run_of

    chosen = chosen_run_of(timeline) or {}
    pred = predict(arch, gpu, workload, cal, cal_note, bool(settings.get("under_nsys")),
                   bool(settings.get("cuda_graph")),
                   chosen.get("range_duration_s"), settings.get("host_probe_layer_s"))  # fmt: skip
    doc = pred.to_dict()
    doc["decode_step_times_s"] = decode_step_times(arch, gpu, workload)
    return doc, list(pred.notes)


def _gpu_without_trace(hardware: str | None, precision: str) -> dict[str, Any]:
    """The ``gpu`` section when there is no trace to detect the GPU from."""
    from rooflens.hardware import lookup
    from rooflens.predict import Precision

    if not hardware:
        return {
            "spec_key": None,
            "detected_name": None,
            "peak_flops": None,
            "bandwidth_bps": None,
            "mismatch_warning": None,
        }
    gpu = lookup(hardware)
    dtype = Precision.parse(precision).compute_dtype
    return {
        "spec_key": gpu.key,
        "detected_name": None,
        "peak_flops": gpu.peak(dtype),
        "bandwidth_bps": gpu.bandwidth_bps,
        "mismatch_warning": None,
    }


def analyse_inputs(
    inputs: list[Path], overrides: dict[str, Any], hardware: str | None, run: str | None
) -> dict[str, Any]:
    """Everything build_report needs, from a run folder or profile files plus CLI overrides."""
    manifest: dict[str, Any] = {}
    files = list(inputs)
    run_dir = inputs[0] if len(inputs) == 1 and inputs[0].is_dir() else None
    if run_dir is not None:
        manifest = read_manifest(run_dir)
        files = run_dir_files(run_dir, manifest)
    settings = manifest_settings(manifest)
    settings.update({k: v for k, v in overrides.items() if v is not None})
    settings["precision"] = _precision_text(settings, overrides.get("precision"))
    arch, assumed = _workload_settings(settings)
    analysed = measure(files, run, hardware) if files else {}
    ranks = analysed.get("ranks")
    settings["tp"] = int(settings.get("tp") or (ranks or {}).get("tp") or 1)
    gpu = analysed.get("gpu") or _gpu_without_trace(hardware, settings["precision"])
    settings["under_nsys"] = (analysed.get("timeline") or {}).get("source") == "nsys"
    timeline = analysed.get("timeline")
    if run_dir is not None:  # the built-in workload's host probe before the analysed run
        settings["host_probe_layer_s"] = read_host_probe(
            run_dir, (timeline or {}).get("chosen_run")
        )
    prediction, notes = _prediction(arch, settings, gpu.get("spec_key"), timeline)
    notes = assumed + notes
    _check_capture(timeline, analysed.get("kernels"), arch, settings)
    notes += list((timeline or {}).get("warnings") or [])
    notes += list(analysed.get("ncu_warnings") or [])
    header = {
        "model": settings.get("model"),
        "batch_size": settings.get("batch"),
        "input_len": settings.get("input_len"),
        "output_len": settings.get("output_len"),
        "precision": settings["precision"],
        "precision_label": _precision_label(settings["precision"]),
        "layers": settings.get("layers"),
        "attention": "flash",
        "tp": settings["tp"],
        "capture_command": settings.get("command_line"),
        "inputs": [str(f) for f in files],
        "notes": notes,
    }
    if ranks is not None:
        from rooflens.analysis.ranks import add_bus_bandwidth, message_bytes_by_phase

        ranks = add_bus_bandwidth(ranks, message_bytes_by_phase(prediction, settings["tp"]))
    return {"header": header, "gpu": gpu, "prediction": prediction, "timeline": timeline,
            "kernels": analysed.get("kernels"), "measured": analysed.get("measured"),
            "ranks": ranks}  # fmt: skip


def _check_capture(
    timeline: dict[str, Any] | None,
    kernels: list[dict[str, Any]] | None,
    arch: Architecture | None,
    settings: dict[str, Any],
) -> None:
    """Refuse a capture with no kernel, and one with more decoder layers than the model (or
    ``--layers``): the wrong model makes every per-layer comparison off, so say so instead."""
    if timeline and not (timeline.get("overview") or {}).get("kernel_count") and not kernels:
        raise InputError(
            timeline.get("path") or "the capture",
            "no GPU kernel in the capture (did the program run on the GPU, traced with -t cuda?)",
        )
    if arch is None or not timeline:
        return
    layers = [k["layer"] for k in timeline.get("kernels") or [] if k.get("layer") is not None]
    model_layers = int(settings.get("layers") or arch.num_layers)
    if layers and max(layers) >= model_layers:
        raise RooflensError(
            f"the capture holds decoder layers 0…{max(layers)} but the model has {model_layers}:"
            f" pass --layers {max(layers) + 1} or the model that was captured"
        )


def load_report(path: str | Path) -> Report:
    """A saved report.json (older schema versions load with defaults for what they lack)."""
    from rooflens.analysis.assemble import upgrade
    from rooflens.report_model import read_report

    return Report(upgrade(read_report(path)))


def report_of(path: str | Path) -> Report:
    """A report from a report.json file, or built from a run folder or one profile file."""
    p = Path(path)
    if p.is_file() and p.suffix == ".json":
        try:
            return load_report(p)
        except InputError:
            pass  # not a report.json: perhaps a Kineto trace; analyse it below
    return analyze(p)
