"""``rooflens run``: the main job on a GPU machine — profile the built-in workload, then report.

The seed's defaults (batch 1, input 128, output 1, one layer) and the GPU detected in the
trace; everything lands in one new run folder, the report in its ``report/`` subfolder.
"""

from __future__ import annotations

from typing import Annotated

import typer

from rooflens.commands.calibrate import Calibration as CalibrationOpt
from rooflens.commands.profile import (
    DEFAULT_RUNS_DIR,
    Batch,
    CaptureRequest,
    CudaGraph,
    Dtype,
    InputLen,
    Layers,
    Model,
    NcuScope,
    Out,
    OutputLen,
    Runs,
    RunsDir,
    SkipNcu,
    Timeline,
    Tp,
    run_capture,
)
from rooflens.errors import InternalError, RooflensError


def run_command(
    model: Model = "llama-3-8b",
    batch: Batch = 1,
    input_len: InputLen = 128,
    output_len: OutputLen = 1,
    layers: Layers = 1,
    runs: Runs = 3,
    dtype: Dtype = "fp16",
    cuda_graph: CudaGraph = False,
    timeline: Timeline = "nsys",
    skip_ncu: SkipNcu = False,
    ncu_scope: NcuScope = "sample",
    tp: Tp = 1,
    hardware: Annotated[str | None, typer.Option(help="GPU spec key (default: detected).")] = None,
    lang: Annotated[str, typer.Option(help="Report language: zh or en.")] = "zh",
    out: Out = None,
    runs_dir: RunsDir = DEFAULT_RUNS_DIR,
    calibration: CalibrationOpt = None,
) -> None:
    """Profile the built-in workload on this GPU and write the integrated report."""
    from rooflens.analysis.assemble import build_report
    from rooflens.commands.report import write_report
    from rooflens.hardware.calibration import load
    from rooflens.pipeline import analyse_inputs

    if lang not in ("zh", "en"):
        raise RooflensError(f"--lang must be zh or en, got {lang!r}")
    if calibration and calibration.strip().lower() != "none":
        load(calibration)  # a broken file stops here, before the capture
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
            ncu_scope=ncu_scope,
            tp=tp,
            out=out,
            runs_dir=runs_dir,
        )
    )
    try:
        overrides = {"calibration": calibration}
        doc = build_report(**analyse_inputs([run_dir], overrides, hardware, None))
        written = write_report(doc, run_dir / "report", lang, force=False)
    except InternalError as exc:  # a bug in rooflens, not in the capture: keep exit code 3
        raise InternalError(f"{run_dir}: capture kept, report failed: {exc}") from exc
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
