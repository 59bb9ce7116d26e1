"""`rooflens report RUN_DIR | FILES...`: prediction + capture analysis → report.md / .html / .json.

Glue only: it reads the run folder's manifest (model and workload settings, artifact names),
calls the trace readers and analyses (``rooflens.commands.analyze.build``), the predictor, and
:func:`rooflens.analysis.assemble.build_report`, then writes the three renderings (and PNG charts
when matplotlib is installed).  ``--from-json`` re-renders a saved report.json.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import orjson
import typer

from rooflens.commands.calibrate import Calibration as CalibrationOpt
from rooflens.commands.outputs import move_in, prepare_out_dir, replace_file, taken
from rooflens.errors import InputError, RooflensError, os_problem
from rooflens.vocab import precision_for_dtype

if TYPE_CHECKING:
    from rooflens.model.architecture import Architecture

_TIMELINE_ARTIFACTS = ("nsys_sqlite", "kineto_json", "nsys_rep")
_NCU_ARTIFACTS = ("ncu_rep", "ncu_csv", "ncu_csv_base")
_OUTPUTS = ("report.md", "report.html", "report.json")


def read_manifest(run_dir: Path) -> dict[str, Any]:
    """The run folder's manifest.json (``{}`` when absent), its fields checked by type."""
    from rooflens.capture.rundir import check_manifest

    path = run_dir / "manifest.json"
    if not os.path.lexists(path):
        return {}
    if not path.is_file():
        raise InputError(path, "not a regular file")
    try:
        raw = orjson.loads(path.read_bytes())
    except orjson.JSONDecodeError as exc:
        raise InputError(path, f"not valid JSON ({exc})") from None
    except OSError as exc:
        raise os_problem(path, exc, "read") from None
    return check_manifest(raw, path)


def manifest_settings(manifest: dict[str, Any]) -> dict[str, Any]:
    """Model/workload settings of a manifest, whether nested under ``settings`` or top-level."""
    settings = dict(manifest.get("settings") or {})
    for key in (
        "model",
        "batch",
        "input_len",
        "output_len",
        "precision",
        "dtype",
        "layers",
        "command_line",
    ):
        settings.setdefault(key, manifest.get(key))
    return settings


def run_dir_files(run_dir: Path, manifest: dict[str, Any]) -> list[Path]:
    """The timeline and NCU files of a run folder: the manifest's artifacts that exist (first of each kind)."""
    artifacts = manifest.get("artifacts") or {}
    files: list[Path] = []
    for group in (_TIMELINE_ARTIFACTS, _NCU_ARTIFACTS):
        for key in group:
            name = artifacts.get(key)
            if name and (run_dir / name).is_file():
                if key == "ncu_rep" and not _ncu_report_available():
                    continue
                files.append(run_dir / name)
                break
    if not files:
        raise InputError(
            run_dir, "no profile found (manifest.json lists no existing nsys/Kineto/NCU artifact)"
        )
    return files


def _ncu_report_available() -> bool:
    import importlib.util

    return importlib.util.find_spec("ncu_report") is not None


def _precision_text(settings: dict[str, Any], override: str | None) -> str:
    if override:
        return override
    if settings.get("precision"):
        return str(settings["precision"])
    return precision_for_dtype(settings.get("dtype"))


def _precision_label(text: str) -> str:
    """The seed's ``W16 / A16 / KV16`` form of a precision (the text as given if it does not parse)."""
    from rooflens.predict import Precision

    try:
        return Precision.parse(text).seed_label
    except RooflensError:
        return text


_WORKLOAD_DEFAULTS = (("batch", "--batch", 1), ("input_len", "--input-len", 128),
                      ("output_len", "--output-len", 1))  # fmt: skip


def _workload_settings(settings: dict[str, Any]) -> tuple[Architecture | None, list[str]]:
    """Check the workload counts (as ``predict`` does) and load the model, before any trace is read.

    With a model, a batch or length that neither the flags nor the manifest give takes the
    ``predict`` default, and a note in the header says which values were assumed.
    """
    from rooflens.model import load_architecture
    from rooflens.predict.workload import check_count

    for key, option, _ in (*_WORKLOAD_DEFAULTS, ("layers", "--layers", None)):
        if settings.get(key) is not None:
            check_count(option, settings[key])
    if not settings.get("model"):
        return None, []
    arch = load_architecture(settings["model"])
    assumed = [(key, option, value) for key, option, value in _WORKLOAD_DEFAULTS
               if settings.get(key) is None]  # fmt: skip
    for key, _, value in assumed:
        settings[key] = value
    if not assumed:
        return arch, []
    said = ", ".join(f"{key} {value}" for key, _, value in assumed)
    flags = " / ".join(option for _, option, _ in assumed)
    return arch, [f"not given, the prediction assumes {said} (pass {flags} to set them)"]


def _prediction(
    arch: Architecture | None, settings: dict[str, Any], spec_key: str | None
) -> tuple[dict[str, Any] | None, list[str]]:
    """The predictor's ``prediction`` section, or None (with a note) without a model or GPU."""
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
    pred = predict(arch, gpu, workload, cal, cal_note, bool(settings.get("under_nsys")),
                   bool(settings.get("cuda_graph")))  # fmt: skip
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
    from rooflens.commands.analyze import build

    manifest: dict[str, Any] = {}
    files = list(inputs)
    if len(inputs) == 1 and inputs[0].is_dir():
        manifest = read_manifest(inputs[0])
        files = run_dir_files(inputs[0], manifest)
    settings = manifest_settings(manifest)
    settings.update({k: v for k, v in overrides.items() if v is not None})
    settings["precision"] = _precision_text(settings, overrides.get("precision"))
    arch, assumed = _workload_settings(settings)
    analysed = build(files, run, hardware) if files else {}
    ranks = analysed.get("ranks")
    settings["tp"] = int(settings.get("tp") or (ranks or {}).get("tp") or 1)
    gpu = analysed.get("gpu") or _gpu_without_trace(hardware, settings["precision"])
    settings["under_nsys"] = (analysed.get("timeline") or {}).get("source") == "nsys"
    prediction, notes = _prediction(arch, settings, gpu.get("spec_key"))
    notes = assumed + notes
    timeline = analysed.get("timeline")
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


def write_report(doc: dict[str, Any], out_dir: Path, lang: str, force: bool) -> list[Path]:
    """Write report.md / .html / .json (+ PNG charts) into ``out_dir``; never overwrite without ``force``.

    Everything is rendered first (charts into a temporary folder inside ``out_dir``), then each
    file replaces its old entry atomically: a link named ``report.md`` is replaced, not followed.
    """
    from rooflens.report import RENDERERS
    from rooflens.report.markdown import CHART_FILES, MarkdownRenderer, charts_available

    prepare_out_dir(out_dir)
    existing = taken(out_dir, [*_OUTPUTS, *(f for _, f in CHART_FILES)])
    if existing and not force:
        raise RooflensError(
            f"{out_dir}: already holds {', '.join(existing)}; pass --force to overwrite"
        )
    charts = charts_available()
    try:
        tmp = tempfile.TemporaryDirectory(dir=out_dir, prefix=".rooflens-")
    except OSError as exc:
        raise os_problem(out_dir, exc, "write into the output folder") from None
    with tmp:
        drawn: list[Path] = []
        if charts:
            from rooflens.report.pngcharts import write_charts

            drawn = write_charts(doc, tmp.name)
        md = MarkdownRenderer(with_charts=charts, chart_files={p.name for p in drawn})
        texts = {name: (md if key == "md" else RENDERERS[key]).render(doc, lang)
                 for name, key in zip(_OUTPUTS, ("md", "html", "json"), strict=True)}  # fmt: skip
        written = move_in(out_dir, drawn)
    written += [replace_file(out_dir, name, text) for name, text in texts.items()]
    return written


def _saved_report(path: Path) -> dict[str, Any]:
    """A report.json to re-render: the user's file, so broken invariants are bad input (exit 2)."""
    from rooflens.analysis.assemble import upgrade
    from rooflens.report.document import load_report, problems
    from rooflens.report.view import build_view

    if not path.is_file():
        raise InputError(path, "no such file" if not path.exists() else "not a regular file")
    try:
        doc = upgrade(load_report(path))
        found = problems(doc)
        build_view(doc, "en")  # what every renderer reads: a wrong shape fails here, as input
    except OSError as exc:
        raise os_problem(path, exc, "read") from None
    except (TypeError, ValueError, KeyError, AttributeError) as exc:
        raise InputError(
            path, f"not a well-formed report.json ({type(exc).__name__}: {exc})"
        ) from None
    if found:
        raise InputError(path, f"breaks the report's invariants: {'; '.join(found[:3])}")
    return doc


def _default_out(inputs: list[Path]) -> Path:
    if len(inputs) == 1 and inputs[0].is_dir():
        return inputs[0] / "report"
    return Path("rooflens-report")


def report_command(
    inputs: Annotated[
        list[Path] | None,
        typer.Argument(help="A run folder (with manifest.json) or profile files."),
    ] = None,
    model: Annotated[
        str | None, typer.Option(help="Model preset or config.json (default: the manifest's).")
    ] = None,
    hardware: Annotated[
        str | None, typer.Option(help="GPU spec key (default: the GPU detected in the trace).")
    ] = None,
    precision: Annotated[
        str | None, typer.Option(help="e.g. W16A16KV16 (default: the manifest's).")
    ] = None,
    batch: Annotated[int | None, typer.Option(help="Batch size.")] = None,
    input_len: Annotated[int | None, typer.Option("--input-len", help="Input length.")] = None,
    output_len: Annotated[int | None, typer.Option("--output-len", help="Output length.")] = None,
    layers: Annotated[int | None, typer.Option(help="Restrict the model to N layers.")] = None,
    run: Annotated[
        str | None, typer.Option(help="NVTX run to analyse (default: the last).")
    ] = None,
    lang: Annotated[str, typer.Option(help="Report language: zh or en.")] = "zh",
    out: Annotated[
        Path | None,
        typer.Option(help="Output folder (default: RUN_DIR/report or ./rooflens-report)."),
    ] = None,
    force: Annotated[bool, typer.Option(help="Overwrite an existing report.")] = False,
    from_json: Annotated[
        Path | None, typer.Option("--from-json", help="Re-render a saved report.json.")
    ] = None,
    calibration: CalibrationOpt = None,
) -> None:
    """Write the integrated report (Markdown, HTML, JSON) for a run folder or profile files."""
    from rooflens.analysis.assemble import build_report

    if lang not in ("zh", "en"):
        raise RooflensError(f"--lang must be zh or en, got {lang!r}")
    paths = list(inputs or [])
    if from_json is not None:
        if paths:
            raise RooflensError(
                f"--from-json re-renders a saved report: give no run folder or files with it "
                f"(got {paths[0]}; see: rooflens report --help)"
            )
        doc = _saved_report(from_json)
        out_dir = out or from_json.parent
    else:
        if not paths:
            raise RooflensError("give a run folder or profile files (or --from-json report.json)")
        for p in paths:
            if not p.exists():
                raise InputError(p, "no such file or folder")
        overrides = {"model": model, "batch": batch, "input_len": input_len, "output_len": output_len,
                     "layers": layers, "precision": precision, "calibration": calibration}  # fmt: skip
        doc = build_report(**analyse_inputs(paths, overrides, hardware, run))
        out_dir = out or _default_out(paths)
    for path in write_report(doc, out_dir, lang, force):
        typer.echo(str(path))


def register(app: typer.Typer) -> None:
    """Attach the `report` verb to the CLI app."""
    app.command("report")(report_command)
