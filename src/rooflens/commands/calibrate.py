"""``rooflens calibrate``: measure what this GPU attains (docs/calibration.md).

Only parsing lives here; the benchmarks are :mod:`rooflens.capture.calibrate` (torch, imported
when the verb runs) and the file format :mod:`rooflens.hardware.calibration`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from rooflens.errors import InputError, RooflensError

#: ``--calibration FILE|none`` of predict, report and run (docs/calibration.md).
CALIBRATION_HELP = (
    "Calibration file for attainable times, or 'none' (default: the bundled one for the GPU)."
)
Calibration = Annotated[str | None, typer.Option("--calibration", help=CALIBRATION_HELP)]


def calibrate_command(
    out: Annotated[
        Path | None,
        typer.Option(
            "--out", "-o", help="Calibration file to write (default calibration-<gpu>.json)."
        ),
    ] = None,
    quick: Annotated[
        bool, typer.Option("--quick", help="Llama-3-8B shapes and FP16 only (a smoke test).")
    ] = False,
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
    dtypes: Annotated[
        str, typer.Option("--dtypes", help="GEMM/attention dtypes, comma list of fp16, bf16, fp8.")
    ] = "fp16,bf16,fp8",
) -> None:
    """Microbenchmark the visible GPU (GEMM, memory-bound kernels, attention, launch costs) and
    write a calibration file for `predict`/`report`/`run --calibration FILE`."""
    from rooflens.capture.calibrate import calibrate
    from rooflens.hardware import normalize_name
    from rooflens.hardware.calibration import save

    if out is not None and out.exists() and not force:
        raise InputError(out, "already exists; pass --force to overwrite it")
    chosen = tuple(d.strip() for d in dtypes.split(",") if d.strip())
    bad = [d for d in chosen if d not in ("fp16", "bf16", "fp8")]
    if bad or not chosen:
        raise RooflensError(f"--dtypes takes fp16, bf16, fp8 (comma list), got '{dtypes}'")
    doc = calibrate(quick=quick, dtypes=chosen)
    path = out or Path(f"calibration-{normalize_name(doc['key']['gpu_name'])}.json")
    if path.exists() and not force:
        raise InputError(path, "already exists; pass --force to overwrite it")
    try:
        save(doc, path)
    except InputError:  # keep what was measured for diagnosis, then fail in one line
        raw = path.with_suffix(".invalid.json")
        raw.write_text(json.dumps(doc, indent=1), encoding="utf-8")
        raise
    typer.echo(str(path))


def register(app: typer.Typer) -> None:
    """Attach the ``calibrate`` verb to the CLI app."""
    app.command("calibrate")(calibrate_command)
