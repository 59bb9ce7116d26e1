"""``rooflens run``: the main job on a GPU machine — profile the built-in workload, then report.

The seed's defaults (batch 1, input 128, output 1, one layer) and the GPU detected in the
trace; everything lands in one new run folder, the report in its ``report/`` subfolder.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from rooflens.commands.profile import DEFAULT_RUNS_DIR, CaptureRequest, run_capture
from rooflens.errors import RooflensError


def run_command(
    model: Annotated[
        str, typer.Option(help="Preset name, config.json or model folder.")
    ] = "llama-3-8b",
    batch: Annotated[int, typer.Option(help="Batch size.")] = 1,
    input_len: Annotated[int, typer.Option(help="Prompt tokens per sequence.")] = 128,
    output_len: Annotated[
        int, typer.Option(help="Generated tokens (output_len−1 decode steps).")
    ] = 1,
    layers: Annotated[int, typer.Option(help="Decoder layers to build (the seed profiled 1).")] = 1,
    runs: Annotated[
        int, typer.Option(help="Repetitions; run 0 is warm-up, the last is analysed.")
    ] = 3,
    dtype: Annotated[str, typer.Option(help="fp16 or bf16.")] = "fp16",
    cuda_graph: Annotated[
        bool, typer.Option("--cuda-graph", help="Replay decode steps from CUDA graphs.")
    ] = False,
    timeline: Annotated[str, typer.Option(help="Timeline source: nsys, torch, or both.")] = "nsys",
    skip_ncu: Annotated[
        bool, typer.Option("--skip-ncu", help="No Nsight Compute capture.")
    ] = False,
    hardware: Annotated[str | None, typer.Option(help="GPU spec key (default: detected).")] = None,
    lang: Annotated[str, typer.Option(help="Report language: zh or en.")] = "zh",
    out: Annotated[
        Path | None, typer.Option(help="Run folder (must not exist or be empty).")
    ] = None,
    runs_dir: Annotated[Path, typer.Option(help="Parent of new run folders.")] = DEFAULT_RUNS_DIR,
) -> None:
    """Profile the built-in workload on this GPU and write the integrated report."""
    from rooflens.commands.report import analyse_inputs, write_report
    from rooflens.report.assemble import build_report

    if lang not in ("zh", "en"):
        raise RooflensError(f"--lang must be zh or en, got {lang!r}")
    run_dir, failure = run_capture(
        CaptureRequest(
            model=model,
            batch=batch,
            input_len=input_len,
            output_len=output_len,
            layers=layers,
            runs=runs,
            dtype=dtype,
            cuda_graph=cuda_graph,
            timeline=timeline,
            skip_ncu=skip_ncu,
            out=out,
            runs_dir=runs_dir,
        )
    )
    try:
        doc = build_report(**analyse_inputs([run_dir], {}, hardware, None))
        written = write_report(doc, run_dir / "report", lang, force=False)
    except RooflensError as exc:
        if failure:  # the capture's own failure explains why there is nothing to report
            raise RooflensError(failure) from None
        raise RooflensError(f"{run_dir}: capture done, report failed: {exc}") from None
    for path in written:
        typer.echo(str(path))
    if failure:
        raise RooflensError(f"{failure} — report written from what was kept")


def register(app: typer.Typer) -> None:
    """Attach the ``run`` verb to the CLI app."""
    app.command("run")(run_command)
