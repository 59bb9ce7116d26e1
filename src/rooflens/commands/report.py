"""`rooflens report RUN_DIR | FILES...`: prediction + capture analysis → report.md / .html / .json.

Glue only: it reads the run folder's manifest (model and workload settings, artifact names),
calls the trace readers and analyses (``rooflens.commands.analyze.build``), the predictor, and
:func:`rooflens.report.assemble.build_report`, then writes the three renderings (and PNG charts
when matplotlib is installed).  ``--from-json`` re-renders a saved report.json.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import orjson
import typer

from rooflens.errors import InputError, RooflensError
from rooflens.vocab import precision_for_dtype

_TIMELINE_ARTIFACTS = ("nsys_sqlite", "kineto_json", "nsys_rep")
_NCU_ARTIFACTS = ("ncu_rep", "ncu_csv", "ncu_csv_base")
_OUTPUTS = ("report.md", "report.html", "report.json")


def read_manifest(run_dir: Path) -> dict[str, Any]:
    """The run folder's manifest.json (``{}`` when absent); settings may sit under ``settings``."""
    path = run_dir / "manifest.json"
    if not path.is_file():
        return {}
    try:
        raw = orjson.loads(path.read_bytes())
    except orjson.JSONDecodeError as exc:
        raise InputError(path, f"not valid JSON ({exc})") from None
    if not isinstance(raw, dict):
        raise InputError(path, "not a JSON object")
    return raw


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


def _prediction(
    settings: dict[str, Any], spec_key: str | None
) -> tuple[dict[str, Any] | None, list[str]]:
    """The predictor's ``prediction`` section, or None (with a note) without a model or GPU."""
    from rooflens.hardware import lookup
    from rooflens.model import load_architecture
    from rooflens.predict import Precision, Workload, predict

    if not settings.get("model"):
        return None, ["no model given (--model or manifest): prediction and comparison skipped"]
    if not spec_key:
        return None, ["no GPU spec (--hardware or a detected GPU): prediction skipped"]
    arch = load_architecture(settings["model"])
    workload = Workload(
        batch=int(settings.get("batch") or 1),
        input_len=int(settings.get("input_len") or 128),
        output_len=int(settings.get("output_len") or 1),
        precision=Precision.parse(settings["precision"]),
        layers=int(settings["layers"]) if settings.get("layers") else None,
    )
    pred = predict(arch, lookup(spec_key), workload)
    return pred.to_dict(), list(pred.notes)


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
    analysed = build(files, run, hardware) if files else {}
    gpu = analysed.get("gpu") or _gpu_without_trace(hardware, settings["precision"])
    prediction, notes = _prediction(settings, gpu.get("spec_key"))
    timeline = analysed.get("timeline")
    notes += list((timeline or {}).get("warnings") or [])
    header = {
        "model": settings.get("model"),
        "batch_size": settings.get("batch"),
        "input_len": settings.get("input_len"),
        "output_len": settings.get("output_len"),
        "precision": settings["precision"],
        "precision_label": _precision_label(settings["precision"]),
        "layers": settings.get("layers"),
        "attention": "flash",
        "tp": 1,
        "capture_command": settings.get("command_line"),
        "inputs": [str(f) for f in files],
        "notes": notes,
    }
    return {"header": header, "gpu": gpu, "prediction": prediction, "timeline": timeline,
            "kernels": analysed.get("kernels"), "measured": analysed.get("measured")}  # fmt: skip


def write_report(doc: dict[str, Any], out_dir: Path, lang: str, force: bool) -> list[Path]:
    """Write report.md / .html / .json (+ PNG charts) into ``out_dir``; never overwrite without ``force``."""
    from rooflens.report import RENDERERS
    from rooflens.report.markdown import MarkdownRenderer, charts_available

    out_dir.mkdir(parents=True, exist_ok=True)
    existing = [name for name in _OUTPUTS if (out_dir / name).exists()]
    if existing and not force:
        raise RooflensError(
            f"{out_dir}: already holds {', '.join(existing)}; pass --force to overwrite"
        )
    written = []
    charts = charts_available()
    if charts:
        from rooflens.report.pngcharts import write_charts

        written += write_charts(doc, out_dir)
    for name, key in zip(_OUTPUTS, ("md", "html", "json"), strict=True):
        renderer = MarkdownRenderer(with_charts=charts) if key == "md" else RENDERERS[key]
        (out_dir / name).write_text(renderer.render(doc, lang), encoding="utf-8")
        written.append(out_dir / name)
    return written


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
) -> None:
    """Write the integrated report (Markdown, HTML, JSON) for a run folder or profile files."""
    from rooflens.report.assemble import build_report
    from rooflens.report.document import load_report

    if lang not in ("zh", "en"):
        raise RooflensError(f"--lang must be zh or en, got {lang!r}")
    paths = list(inputs or [])
    if from_json is not None:
        doc = load_report(from_json)
        out_dir = out or from_json.parent
    else:
        if not paths:
            raise RooflensError("give a run folder or profile files (or --from-json report.json)")
        for p in paths:
            if not p.exists():
                raise InputError(p, "no such file or folder")
        overrides = {"model": model, "batch": batch, "input_len": input_len, "output_len": output_len,
                     "layers": layers, "precision": precision}  # fmt: skip
        doc = build_report(**analyse_inputs(paths, overrides, hardware, run))
        out_dir = out or _default_out(paths)
    for path in write_report(doc, out_dir, lang, force):
        typer.echo(str(path))


def register(app: typer.Typer) -> None:
    """Attach the `report` verb to the CLI app."""
    app.command("report")(report_command)
