"""`rooflens report RUN_DIR | FILES...`: prediction + capture analysis → report.md / .html / .json.

Glue only: it parses options, calls the pipeline (:func:`rooflens.pipeline.analyse_inputs`,
:func:`rooflens.analysis.assemble.build_report`) and writes one file per renderer of
:data:`rooflens.report.RENDERERS` (and PNG charts when matplotlib is installed).
``--from-json`` re-renders a saved report.json.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from rooflens.commands.calibrate import Calibration as CalibrationOpt
from rooflens.commands.outputs import move_in, prepare_out_dir, replace_file, taken
from rooflens.errors import InputError, RooflensError, os_problem

if TYPE_CHECKING:
    from rooflens.report_model import ReportDocument

# The files of a report: one per renderer of the registry (rooflens.report.RENDERERS).
_RENDERED = ("md", "html", "json")


def write_report(doc: ReportDocument, out_dir: Path, lang: str, force: bool) -> list[Path]:
    """Write report.md / .html / .json (+ PNG charts) into ``out_dir``; never overwrite without ``force``.

    Each file is ``report`` + its renderer's extension, rendered by :data:`RENDERERS` — the
    only path to a report file.  Everything is rendered first (charts into a temporary folder
    inside ``out_dir``), then each file replaces its old entry atomically
    (:mod:`rooflens.commands.outputs`): a link named ``report.md`` is replaced, not followed.
    """
    from rooflens.report import RENDERERS
    from rooflens.report.markdown import CHART_FILES, charts_available

    names = {key: f"report{RENDERERS[key].output_file_extension}" for key in _RENDERED}
    prepare_out_dir(out_dir)
    existing = taken(out_dir, [*names.values(), *(f for _, f in CHART_FILES)])
    if existing and not force:
        raise RooflensError(
            f"{out_dir}: already holds {', '.join(existing)}; pass --force to overwrite"
        )
    try:
        tmp = tempfile.TemporaryDirectory(dir=out_dir, prefix=".rooflens-")
    except OSError as exc:
        raise os_problem(out_dir, exc, "write into the output folder") from None
    with tmp:
        drawn: list[Path] = []
        if charts_available():
            from rooflens.report.pngcharts import write_charts

            drawn = write_charts(doc, tmp.name)
        charts = {p.name for p in drawn}
        texts = {
            name: RENDERERS[key].render(doc, lang, charts=charts) for key, name in names.items()
        }
        written = move_in(out_dir, drawn)
    written += [replace_file(out_dir, name, text) for name, text in texts.items()]
    return written


def _saved_report(path: Path) -> ReportDocument:
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
        from rooflens.pipeline import analyse_inputs

        doc = build_report(**analyse_inputs(paths, overrides, hardware, run))
        out_dir = out or _default_out(paths)
    for path in write_report(doc, out_dir, lang, force):
        typer.echo(str(path))


def register(app: typer.Typer) -> None:
    """Attach the `report` verb to the CLI app."""
    app.command("report")(report_command)
