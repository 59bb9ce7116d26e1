"""``rooflens profile``: capture the built-in workload, or any command, under nsys / ncu / torch.profiler."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shlex
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

import typer

from rooflens.capture.profile import CaptureOptions, capture, failed_steps
from rooflens.capture.rundir import WORKLOAD_SUMMARY, Manifest, claim_out_dir, new_run_dir
from rooflens.errors import RooflensError, ToolMissingError
from rooflens.tools import find_tool, gpu_count, gpu_problem, install_hint
from rooflens.vocab import precision_for_dtype

DEFAULT_RUNS_DIR = Path("rooflens-runs")


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
    ncu_check: bool = False,
    tp: int = 1,
    sample_only: bool = False,
) -> list[str]:
    """argv of the built-in workload (run with this Python, so it sees the same rooflens).

    With ``tp`` > 1 it is started by torchrun (``torch.distributed.run``), one process per GPU.
    """
    launcher = [sys.executable]
    if tp > 1:
        launcher += ["-m", "torch.distributed.run", "--standalone", "--nproc-per-node", str(tp)]
    argv = [
        *launcher,
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
    if ncu_check:
        argv.append("--ncu-check")
    if sample_only:
        argv.append("--sample-only")
    if summary is not None:
        argv += ["--summary", str(summary)]
    return argv


NCU_SCOPES = ("sample", "check", "run")


def ncu_run_regex(scope: str, run: int) -> str:
    """NVTX range (regex) whose kernels ncu profiles in the built-in workload's last run ``run``.

    ``sample`` (default): the representative kernels the workload marks ``ncu#Run[j]`` — prefill
    and a few decode steps, first and last layer (rooflens.capture.sample): the cost no longer
    grows with depth or generation length.  ``check``: the same plus layer 1 and decode step 2,
    to check counter propagation.  ``run``: every kernel of the run (cost grows with the run).
    """
    if scope not in NCU_SCOPES:
        raise RooflensError(f"--ncu-scope must be one of {', '.join(NCU_SCOPES)} (got {scope!r})")
    return rf"^Run\[{run}\]$" if scope == "run" else rf"^ncu#Run\[{run}\]$"


def _check_positive(**values: int) -> None:
    from rooflens.predict.workload import check_count

    for name, v in values.items():
        check_count(f"--{name.replace('_', '-')}", v)


@dataclass
class CaptureRequest:
    """Everything ``rooflens profile`` (and ``rooflens run``) was asked to capture."""

    command: list[str] = field(default_factory=list)  # empty: the built-in workload
    model: str = "llama-3-8b"
    batch: int = 1
    input_len: int = 128
    output_len: int = 1
    layers: int = 1
    runs: int = 3
    dtype: str = "fp16"
    cuda_graph: bool = False
    timeline: str = "nsys"
    skip_nsys: bool = False
    skip_ncu: bool = False
    nvtx_run: str | None = None
    ncu_set: str | None = None
    ncu_launch_count: int | None = None
    ncu_kernel: str | None = None
    ncu_scope: str = "sample"  # sample | check | run (docs/capture.md: representative kernels)
    tp: int = 1  # tensor-parallel GPUs (built-in workload under torchrun; or the command's own)
    clock_control: str = "none"
    out: Path | None = None
    runs_dir: Path = DEFAULT_RUNS_DIR
    redact: bool = True


def _timelines(req: CaptureRequest) -> tuple[str, ...]:
    timelines = {"nsys": ("nsys",), "torch": ("torch",), "both": ("nsys", "torch")}.get(
        req.timeline
    )
    if timelines is None:
        raise RooflensError(f"--timeline must be nsys, torch or both (got {req.timeline!r})")
    if req.skip_nsys:
        timelines = tuple(t for t in timelines if t != "nsys")
    if req.command and "torch" in timelines:
        raise RooflensError(
            "--timeline torch works with the built-in workload only; use nsys for a command"
        )
    return timelines


def preflight(req: CaptureRequest, timelines: tuple[str, ...]) -> None:
    """Raise one line naming every missing piece (GPU, nsys, ncu, the program) before anything
    is created: a capture that cannot capture must not leave a run folder or exit 0."""
    if not timelines and req.skip_ncu:
        raise RooflensError(
            "nothing to capture: every tool is skipped (drop --skip-ncu or --skip-nsys)"
        )
    missing: list[str] = []
    if req.command and shutil.which(req.command[0]) is None:
        missing.append(f"the program {req.command[0]!r} is not an executable on PATH")
    gpu = gpu_problem()
    if gpu:
        missing.append(f"{gpu}; run on a machine with an NVIDIA GPU and its driver")
    elif req.tp > 1:
        n = gpu_count()
        if n is not None and n < req.tp:
            missing.append(f"--tp {req.tp} needs {req.tp} GPUs but {n} visible")
    nsys_skip = "--skip-nsys" if req.command else "--timeline torch"
    for tool, needed, skip in (("nsys", "nsys" in timelines, nsys_skip), ("ncu", not req.skip_ncu, "--skip-ncu")):  # fmt: skip
        if not needed:
            continue
        try:
            if find_tool(tool, required=False) is None:
                missing.append(f"{tool} not found: {install_hint(tool)}, or pass {skip}")
        except ToolMissingError as exc:
            missing.append(f"{exc}, or pass {skip}")
    if missing:
        raise RooflensError("cannot capture here: " + "; ".join(missing))


def _check_patterns(req: CaptureRequest) -> None:
    """Regexes and counts handed to ncu are checked here: a typo is one line now, not a failed
    ncu pass minutes into the capture."""
    for option, pattern in (("--nvtx-run", req.nvtx_run), ("--ncu-kernel", req.ncu_kernel)):
        if pattern is not None:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise RooflensError(f"{option} {pattern!r} is not a valid regex ({exc})") from None
    if req.ncu_launch_count is not None and req.ncu_launch_count < 1:
        raise RooflensError(f"--ncu-launch-count must be at least 1 (got {req.ncu_launch_count})")


@dataclass
class _Created:
    """What run_capture made on disk, so that a capture that captured nothing leaves nothing."""

    run_dir: Path
    run_dir_existed: bool  # an empty --out folder the user made: emptied, not removed
    parent: Path | None  # the runs folder, when this capture created it


def _claim(req: CaptureRequest, stem: str) -> _Created:
    if req.out:
        existed = os.path.isdir(req.out)
        return _Created(claim_out_dir(req.out), existed, None)
    parent_existed = os.path.isdir(req.runs_dir)
    run_dir = new_run_dir(req.runs_dir, stem)
    return _Created(run_dir, False, None if parent_existed else req.runs_dir)


def _discard(made: _Created) -> None:
    """Remove what the capture created (best effort: a file we cannot remove stays)."""
    if made.run_dir_existed:
        for child in made.run_dir.iterdir():
            if child.is_dir() and not child.is_symlink():
                shutil.rmtree(child, ignore_errors=True)
            else:
                child.unlink(missing_ok=True)
    else:
        shutil.rmtree(made.run_dir, ignore_errors=True)
    if made.parent is not None:
        with contextlib.suppress(OSError):
            made.parent.rmdir()  # only when empty


def _builtin_settings(req: CaptureRequest, arch_name: str) -> dict[str, object]:
    return dict(model=req.model, model_name=arch_name, batch=req.batch, input_len=req.input_len,
                output_len=req.output_len, layers=req.layers, runs=req.runs, dtype=req.dtype,
                precision=precision_for_dtype(req.dtype), cuda_graph=req.cuda_graph, workload="builtin",
                tp=req.tp)  # fmt: skip


def _outcome(run_dir: Path, manifest: Manifest) -> str | None:
    """``None`` when every step went well, else one line: what failed and what was kept."""
    failed = failed_steps(manifest)
    if not failed:
        return None
    kept = ", ".join(sorted(manifest.artifacts))
    reasons = "; ".join(f"{s.name}: {s.message}" for s in failed)
    return f"capture incomplete in {run_dir} (kept: {kept}). {reasons}"


def run_capture(req: CaptureRequest) -> tuple[Path, str | None]:
    """Capture into a new run folder; returns it and, when a step failed, a one-line message.

    Bad options, a missing GPU or tool raise :class:`RooflensError` before anything is created.
    A capture that leaves no artifact at all removes its run folder and raises: only a folder
    holding something captured is kept.
    """
    _check_positive(batch=req.batch, input_len=req.input_len, output_len=req.output_len,
                    layers=req.layers, runs=req.runs, tp=req.tp)  # fmt: skip
    if req.dtype not in ("fp16", "bf16"):
        raise RooflensError(f"--dtype must be fp16 or bf16 (got {req.dtype!r})")
    _check_patterns(req)
    timelines = _timelines(req)
    settings: dict[str, object] = {"command_line": shlex.join(["rooflens", *sys.argv[1:]])}
    shape_json = None
    if req.command:
        stem = Path(req.command[0]).name
        settings.update(workload="command", tp=req.tp)
    else:
        from rooflens.capture.shape import shape_from_architecture, shard_shape
        from rooflens.model import load_architecture

        arch = load_architecture(req.model)
        if req.layers > arch.num_layers:
            raise RooflensError(
                f"--layers {req.layers}: {arch.name} has only {arch.num_layers} layers"
            )
        shape = shape_from_architecture(arch)
        shard_shape(shape, req.tp)  # heads and widths divisible by --tp? one line if not
        shape_json = json.dumps(shape.to_dict(), indent=2)
        stem = f"{arch.name}_b{req.batch}_i{req.input_len}_o{req.output_len}"
        settings.update(_builtin_settings(req, arch.name))
    preflight(req, timelines)
    if not req.command:
        from rooflens.capture.memcheck import check_fits

        check_fits(arch, batch=req.batch, input_len=req.input_len, output_len=req.output_len,
                   layers=req.layers, tp=req.tp)  # fmt: skip
    if req.tp > 1:
        os.environ.setdefault("NCCL_NVLS_ENABLE", "0")  # NVLink multicast off on the lent machines
    made = _claim(req, stem)
    run_dir = made.run_dir
    manifest = Manifest(run_dir=str(run_dir), settings=settings)
    t0 = time.perf_counter()

    def progress(msg: str) -> None:
        typer.echo(f"[{time.perf_counter() - t0:7.1f} s] {msg}", err=True)

    try:
        opts = _options(req, run_dir, timelines, shape_json)
        progress(f"run folder: {run_dir}")
        capture(manifest, opts, progress)
    except BaseException:
        if not manifest.artifacts:
            _discard(made)
        raise
    if not manifest.artifacts:
        _discard(made)
        why = "; ".join(f"{s.name}: {s.message}" for s in manifest.steps if s.message)
        raise RooflensError(
            f"capture failed, nothing was captured (run folder {run_dir} removed): "
            + (why or "no step wrote a file")
        )
    return run_dir, _outcome(run_dir, manifest)


def _options(
    req: CaptureRequest, run_dir: Path, timelines: tuple[str, ...], shape_json: str | None
) -> CaptureOptions:
    """The capture steps' options; writes ``shape.json`` for the built-in workload."""
    program, torch_program, run_regex = list(req.command), None, req.nvtx_run
    ncu_program: list[str] | None = None
    if shape_json is not None:
        shape_file = run_dir / "shape.json"
        try:
            shape_file.write_text(shape_json, encoding="utf-8")
        except OSError as exc:
            raise RooflensError(f"{shape_file}: cannot write ({exc.strerror or exc})") from None
        kw = dict(batch=req.batch, input_len=req.input_len, output_len=req.output_len,
                  layers=req.layers, runs=req.runs, dtype=req.dtype, cuda_graph=req.cuda_graph)  # fmt: skip
        check = req.ncu_scope == "check"
        program = builtin_program(shape_file, summary=run_dir / WORKLOAD_SUMMARY, ncu_check=check,
                                  tp=req.tp, **kw)  # type: ignore[arg-type]  # fmt: skip
        torch_program = builtin_program(shape_file, summary=None, **kw)  # type: ignore[arg-type]
        if req.ncu_scope in ("sample", "check") and not req.nvtx_run and not req.cuda_graph:
            # ncu's pass launches only the sample (rooflens.capture.workload.run_workload); the
            # summary (workload.json) is the nsys pass's, unless nsys does not run.
            summary = None if "nsys" in timelines else run_dir / WORKLOAD_SUMMARY
            ncu_program = builtin_program(shape_file, summary=summary, ncu_check=check, tp=req.tp,
                                          sample_only=True, **kw)  # type: ignore[arg-type]  # fmt: skip
        run_regex = req.nvtx_run or ncu_run_regex(req.ncu_scope, req.runs - 1)
    return CaptureOptions(
        program=program,
        run_regex=run_regex,
        timelines=timelines,
        ncu=not req.skip_ncu,
        ncu_set=req.ncu_set,
        ncu_launch_count=req.ncu_launch_count,
        clock_control=req.clock_control,
        ncu_kernel_regex=req.ncu_kernel,
        redact=req.redact,
        torch_program=torch_program,
        ncu_program=ncu_program,
    )


# Options shared by `profile` and `run` (declared once; Typer reads them from the annotations).
Model = Annotated[
    str, typer.Option(help="Preset name, config.json or model folder (built-in workload).")
]
Batch = Annotated[int, typer.Option(help="Batch size.")]
InputLen = Annotated[int, typer.Option(help="Prompt tokens per sequence.")]
OutputLen = Annotated[
    int, typer.Option(help="Generated tokens (prefill makes the first; output_len−1 decode steps).")
]
Layers = Annotated[int, typer.Option(help="Decoder layers (the SGLang report profiled 1).")]
Runs = Annotated[int, typer.Option(help="Repetitions; run 0 is warm-up, the last is analysed.")]
Dtype = Annotated[str, typer.Option(help="fp16 or bf16.")]
CudaGraph = Annotated[
    bool, typer.Option("--cuda-graph", help="Replay decode steps from CUDA graphs.")
]
Timeline = Annotated[str, typer.Option(help="Timeline source: nsys, torch, or both.")]
SkipNcu = Annotated[bool, typer.Option("--skip-ncu", help="No Nsight Compute capture.")]
Out = Annotated[Path | None, typer.Option(help="Run folder (must not exist or be empty).")]
RunsDir = Annotated[Path, typer.Option(help="Parent of new run folders.")]
Tp = Annotated[
    int,
    typer.Option(
        "--tp",
        help="Tensor-parallel GPUs: the built-in workload runs under torchrun with Megatron shards "
        "(one process per GPU); with -- CMD, the GPUs your command uses (recorded for the report).",
    ),
]
NcuScope = Annotated[
    str,
    typer.Option(
        help="Built-in workload: which kernels ncu profiles — sample (one launch per kernel and step "
        "class: prefill and ≤4 decode steps, first and last layer), check (sample + layer 1 and "
        "decode step 2, to verify propagation) or run (every kernel of the last run)."
    ),
]


def profile_command(
    command: Annotated[
        list[str] | None, typer.Argument(help="After `--`: a program to profile as it is.")
    ] = None,
    model: Model = "llama-3-8b",
    batch: Batch = 1,
    input_len: InputLen = 128,
    output_len: OutputLen = 1,
    layers: Layers = 1,
    runs: Runs = 3,
    dtype: Dtype = "fp16",
    cuda_graph: CudaGraph = False,
    timeline: Timeline = "nsys",
    skip_nsys: Annotated[
        bool, typer.Option("--skip-nsys", help="No Nsight Systems capture.")
    ] = False,
    skip_ncu: SkipNcu = False,
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
    ncu_scope: NcuScope = "sample",
    tp: Tp = 1,
    out: Out = None,
    runs_dir: RunsDir = DEFAULT_RUNS_DIR,
    redact: Annotated[
        bool,
        typer.Option("--redact/--no-redact", help="Strip the environment from the nsys SQLite."),
    ] = True,
) -> None:
    """Capture a run on this GPU into a new run folder (nsys timeline + one ncu pass)."""
    run_dir, message = run_capture(
        CaptureRequest(command=list(command or []), model=model, batch=batch, input_len=input_len,
                       output_len=output_len, layers=layers, runs=runs, dtype=dtype, cuda_graph=cuda_graph,
                       timeline=timeline, skip_nsys=skip_nsys, skip_ncu=skip_ncu, nvtx_run=nvtx_run,
                       ncu_set=ncu_set, ncu_launch_count=ncu_launch_count, ncu_kernel=ncu_kernel,
                       clock_control=clock_control, out=out, runs_dir=runs_dir, redact=redact,
                       ncu_scope=ncu_scope, tp=tp)
    )  # fmt: skip
    if message:
        raise RooflensError(message)
    typer.echo(str(run_dir))


def register(app: typer.Typer) -> None:
    """Attach ``profile`` to the CLI app (arguments after ``--`` are the program to profile)."""
    app.command("profile", context_settings={"allow_interspersed_args": False})(profile_command)
