"""`rooflens analyze FILE...`: read one timeline and/or one NCU source, print the overview.

Parses arguments, calls the pipeline (:func:`rooflens.pipeline.measure`) and prints its result
as Rich tables (:func:`rooflens.report.console.print_analysis`) or, with ``--json``, the
report.json subset it knows: ``gpu``, ``timeline``, ``kernels``, ``measured``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import orjson
import typer

_FILES_HELP = "One timeline (nsys .sqlite/.nsys-rep, PyTorch profiler .json) and/or one NCU source (.ncu-rep, raw CSV)."
_RUN_HELP = (
    "NVTX range name or regex of the run to analyse (default: the last Run[j] / Layer[i]#Run[j])."
)


def register(app: typer.Typer) -> None:
    """Attach the `analyze` verb to the CLI app."""

    @app.command("analyze")
    def analyze(
        files: Annotated[list[Path], typer.Argument(help=_FILES_HELP)],
        run: Annotated[str | None, typer.Option("--run", help=_RUN_HELP)] = None,
        hardware: Annotated[
            str | None,
            typer.Option("--hardware", help="GPU spec key (default: detected from the trace)."),
        ] = None,
        as_json: Annotated[
            bool, typer.Option("--json", help="Print the report.json subset instead of tables.")
        ] = False,
    ) -> None:
        """Timeline overview (runs, bubbles, kernels) and, with NCU data, per-kernel roofline figures."""
        from rooflens.pipeline import measure

        doc = measure(files, run, hardware)
        for warning in doc["reader_warnings"]:  # on stderr, so --json output stays clean
            typer.echo(f"rooflens: warning: {warning}", err=True)
        if as_json:
            typer.echo(
                orjson.dumps(doc, option=orjson.OPT_INDENT_2 | orjson.OPT_SERIALIZE_NUMPY).decode()
            )
        else:
            from rich.console import Console

            from rooflens.report.console import print_analysis

            # The terminal's width (80 when piped): every table fits 80 columns.
            print_analysis(doc, Console(markup=False, highlight=False))
