"""``rooflens profile``: capture the built-in workload, or any command, under nsys / ncu / torch.profiler."""

from __future__ import annotations

import json
import shlex
import sys
import time
from pathlib import Path
from typing import Annotated

import typer

from rooflens.errors import RooflensError

DEFAULT_RUNS_DIR = Path("rooflens-runs")


def _precision_of(dtype: str) -> str:
    return "W16A16KV16"  # fp16 and bf16 alike: 2-byte weights, activations and KV cache


def builtin_program(
    shape_file: Path,
    *,
    batch: int,
    input_len: int,
    output_len: int,
    layers: int,
    runs: int,
    dtype: str,
    cuda_graph: bool,
    summary: Path | None,
) -> list[str]:
    """argv of the built-in workload (run with this Python, so it sees the same rooflens)."""
    argv = [
        sys.executable,
        "-m",
        "rooflens.capture.workload",
        "--shape",
        str(shape_file),
        "--batch",
        str(batch),
        "--input-len",
        str(input_len),
        "--output-len",
        str(output_len),
        "--layers",
        str(layers),
        "--runs",
        str(runs),
        "--dtype",
        dtype,
    ]
    if cuda_graph:
        argv.append("--cuda-graph")
    if summary is not None:
        argv += ["--summary", str(summary)]
    return argv


def _check_positive(**values: int) -> None:
    for name, v in values.items():
        if v < 1:
            raise RooflensError(f"--{name.replace('_', '-')} must be at least 1 (got {v})")


def register(app: typer.Typer) -> None:
    """Attach ``profile`` to the CLI app."""

    @app.command(context_settings={"allow_interspersed_args": False})
    def profile(
        command: Annotated[
            list[str] | None, typer.Argument(help="After `--`: a program to profile as it is.")
        ] = None,
        model: Annotated[
            str, typer.Option(help="Preset name, config.json or model folder (built-in workload).")
        ] = "llama-3-8b",
        batch: Annotated[int, typer.Option(help="Batch size.")] = 1,
        input_len: Annotated[int, typer.Option(help="Prompt tokens per sequence.")] = 128,
        output_len: Annotated[
            int,
            typer.Option(
                help="Generated tokens (prefill makes the first; output_len−1 decode steps)."
            ),
        ] = 1,
        layers: Annotated[
            int, typer.Option(help="Decoder layers to build (the seed profiled 1).")
        ] = 1,
        runs: Annotated[
            int, typer.Option(help="Repetitions; run 0 is warm-up, the last is analysed.")
        ] = 3,
        dtype: Annotated[str, typer.Option(help="fp16 or bf16.")] = "fp16",
        cuda_graph: Annotated[
            bool, typer.Option("--cuda-graph", help="Replay decode steps from CUDA graphs.")
        ] = False,
        timeline: Annotated[
            str, typer.Option(help="Timeline source: nsys, torch, or both.")
        ] = "nsys",
        skip_nsys: Annotated[
            bool, typer.Option("--skip-nsys", help="No Nsight Systems capture.")
        ] = False,
        skip_ncu: Annotated[
            bool, typer.Option("--skip-ncu", help="No Nsight Compute capture.")
        ] = False,
        nvtx_run: Annotated[
            str | None, typer.Option(help="NVTX range (regex) whose kernels ncu profiles.")
        ] = None,
        ncu_set: Annotated[
            str | None, typer.Option(help="Add an ncu section set (e.g. detailed, full).")
        ] = None,
        ncu_launch_count: Annotated[
            int | None, typer.Option(help="Cap on kernels ncu profiles (foreign commands).")
        ] = None,
        ncu_kernel: Annotated[
            str | None, typer.Option(help="Only kernels whose demangled name matches this regex.")
        ] = None,
        clock_control: Annotated[
            str, typer.Option(help="ncu --clock-control (none keeps the card's clocks).")
        ] = "none",
        out: Annotated[
            Path | None, typer.Option(help="Run folder (must not exist or be empty).")
        ] = None,
        runs_dir: Annotated[
            Path, typer.Option(help="Parent of new run folders.")
        ] = DEFAULT_RUNS_DIR,
        redact: Annotated[
            bool,
            typer.Option(
                "--redact/--no-redact", help="Strip the environment from the nsys SQLite."
            ),
        ] = True,
    ) -> None:
        """Capture a run on this GPU into a new run folder (nsys timeline + one ncu pass)."""
        from rooflens.capture.profile import CaptureOptions, capture, failed_steps
        from rooflens.capture.rundir import Manifest, claim_out_dir, new_run_dir

        _check_positive(
            batch=batch, input_len=input_len, output_len=output_len, layers=layers, runs=runs
        )
        if dtype not in ("fp16", "bf16"):
            raise RooflensError(f"--dtype must be fp16 or bf16 (got {dtype!r})")
        timelines = {"nsys": ("nsys",), "torch": ("torch",), "both": ("nsys", "torch")}.get(
            timeline
        )
        if timelines is None:
            raise RooflensError(f"--timeline must be nsys, torch or both (got {timeline!r})")
        if skip_nsys:
            timelines = tuple(t for t in timelines if t != "nsys")
        builtin = not command
        if builtin:
            from rooflens.capture.shape import shape_from_architecture
            from rooflens.model import load_architecture

            arch = load_architecture(model)
            if layers > arch.num_layers:
                raise RooflensError(
                    f"--layers {layers}: {arch.name} has only {arch.num_layers} layers"
                )
            shape = shape_from_architecture(arch)
            stem = f"{arch.name}_b{batch}_i{input_len}_o{output_len}"
        else:
            stem = Path(command[0]).name if command else "command"
            if "torch" in timelines:
                raise RooflensError(
                    "--timeline torch works with the built-in workload only; use nsys for a command"
                )
        run_dir = claim_out_dir(out) if out else new_run_dir(runs_dir, stem)
        settings: dict[str, object] = {
            "command_line": shlex.join(["rooflens", "profile", *sys.argv[2:]])
        }
        torch_program = None
        if builtin:
            shape_file = run_dir / "shape.json"
            shape_file.write_text(json.dumps(shape.to_dict(), indent=2), encoding="utf-8")
            kw = dict(
                batch=batch,
                input_len=input_len,
                output_len=output_len,
                layers=layers,
                runs=runs,
                dtype=dtype,
                cuda_graph=cuda_graph,
            )
            program = builtin_program(shape_file, summary=run_dir / "workload.json", **kw)  # type: ignore[arg-type]
            torch_program = builtin_program(shape_file, summary=None, **kw)  # type: ignore[arg-type]
            run_regex: str | None = nvtx_run or rf"^Run\[{runs - 1}\]$"
            settings.update(
                model=model,
                model_name=arch.name,
                batch=batch,
                input_len=input_len,
                output_len=output_len,
                layers=layers,
                runs=runs,
                dtype=dtype,
                precision=_precision_of(dtype),
                cuda_graph=cuda_graph,
                workload="builtin",
            )
        else:
            program = list(command or [])
            run_regex = nvtx_run
            settings.update(workload="command")
        manifest = Manifest(run_dir=str(run_dir), settings=settings)
        opts = CaptureOptions(
            program=program,
            run_regex=run_regex,
            timelines=timelines,
            ncu=not skip_ncu,
            ncu_set=ncu_set,
            ncu_launch_count=ncu_launch_count,
            clock_control=clock_control,
            ncu_kernel_regex=ncu_kernel,
            redact=redact,
            torch_program=torch_program,
        )
        t0 = time.perf_counter()

        def progress(msg: str) -> None:
            typer.echo(f"[{time.perf_counter() - t0:7.1f} s] {msg}", err=True)

        progress(f"run folder: {run_dir}")
        capture(manifest, opts, progress)
        failed = failed_steps(manifest)
        kept = ", ".join(sorted(manifest.artifacts)) or "nothing"
        if failed:
            reasons = "; ".join(f"{s.name}: {s.message}" for s in failed)
            raise RooflensError(f"capture incomplete in {run_dir} (kept: {kept}). {reasons}")
        typer.echo(str(run_dir))
