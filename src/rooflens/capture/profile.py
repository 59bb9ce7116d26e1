"""Run a program under nsys, ncu and/or the PyTorch profiler, into one new run folder.

Each tool is one step; a failed step is recorded in the manifest with a diagnosis and the
remaining steps still run, so a partial capture is kept and reported.  The built-in workload
and any user command (``rooflens profile -- CMD``) go through the same steps.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from rooflens.capture import ncu as ncu_cmd
from rooflens.capture import nsys as nsys_cmd
from rooflens.capture.rundir import Manifest, Step
from rooflens.tools import find_tool, tool_env

Progress = Callable[[str], None]


@dataclass
class CaptureOptions:
    """What to capture; built by the CLI from its flags."""

    program: list[str]  # argv of the profiled program
    run_regex: str | None  # NVTX range (regex) whose kernels ncu profiles; None = every kernel
    timelines: tuple[str, ...] = ("nsys",)  # any of "nsys", "torch"
    ncu: bool = True
    ncu_set: str | None = None
    ncu_launch_count: int | None = None  # cap for programs without an NVTX run to filter on
    ncu_kernel_regex: str | None = None  # only kernels whose demangled name matches
    clock_control: str = "none"
    redact: bool = True
    torch_program: list[str] | None = None  # program variant writing a Kineto trace (built-in only)
    # Program variant for the ncu pass (built-in only: launches just the sampled kernels).
    ncu_program: list[str] | None = None
    step_timeout_s: float = 3600.0
    # NVTX from capture/annotate/ for a Python program (ROOFLENS_ANNOTATE=0 in the environment: off).
    # None: on for a user's command; off for the built-in workload (the only program with a
    # torch_program variant), which marks its own ranges.
    annotate: bool | None = None


def _tail(path: Path, lines: int = 15) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


# Lines the tools themselves print; what remains in a step's log is the profiled program's output.
_TOOL_LINE = re.compile(
    r"^(==PROF==|==WARNING==|==ERROR==|Collecting data|Generating|Generated:|\[\d+/\d+\]|\s+/)"
)


def _program_output(tail: str) -> str:
    lines = [ln.strip() for ln in tail.splitlines() if ln.strip() and not _TOOL_LINE.match(ln)]
    return lines[-1][:300] if lines else ""


def diagnose(step: str, returncode: int | None, tail: str) -> str:
    """One sentence that says what went wrong in a step and what to do about it."""
    t = tail.lower()
    if "err_nvgpuctrperm" in t:
        return (
            "ncu may not read the GPU's performance counters (ERR_NVGPUCTRPERM): run as root or allow "
            "profiling for all users (NVreg_RestrictProfilingToAdminUsers=0), or pass --skip-ncu"
        )
    if (
        "no cuda gpu" in t
        or "no cuda-capable device" in t
        or "cuda driver version is insufficient" in t
    ):
        return "no usable CUDA GPU is visible here; run rooflens profile on a GPU machine"
    if "libdw.so" in t or "libelf.so" in t:
        return (
            "nsys's importer lacks libdw/libelf: unpack Debian's libdw1 and libelf1 into a folder and set "
            "ROOFLENS_EXTRA_LIBS to its usr/lib/x86_64-linux-gnu (docs/capture.md)"
        )
    if returncode is None:
        return f"{step} timed out"
    last = _program_output(tail)
    if step in ("nsys", "ncu", "torch"):
        # nsys and ncu pass on the profiled program's exit code.
        return f"the profiled program exited with code {returncode}" + (
            f"; its last output: {last}" if last else ""
        )
    return f"{step} exited with code {returncode}" + (f": {last}" if last else "")


def run_step(
    manifest: Manifest,
    name: str,
    argv: list[str],
    *,
    env: dict[str, str] | None,
    progress: Progress,
    timeout_s: float,
    expect: list[Path] | None = None,
) -> Step:
    """Run one step with its output in ``logs/<name>.log``; record it in the manifest."""
    run_dir = Path(manifest.run_dir)
    log = run_dir / "logs" / f"{name}.log"
    log.parent.mkdir(exist_ok=True)
    step = Step(name=name, argv=list(argv), log=str(log.relative_to(run_dir)))
    manifest.steps.append(step)
    progress(f"{name}: {shlex.join(argv)[:160]}")
    t0 = time.perf_counter()
    try:
        with open(log, "wb") as fh:
            step.returncode = _wait_with_heartbeat(
                subprocess.Popen(argv, stdout=fh, stderr=subprocess.STDOUT, env=env),
                name, log, t0, timeout_s, progress,
            )  # fmt: skip
    except OSError as exc:
        log.write_text(f"could not start: {exc}\n", encoding="utf-8")
        step.returncode = 127
    step.elapsed_s = round(time.perf_counter() - t0, 3)
    missing = [p for p in (expect or []) if not p.exists()]
    if step.returncode == 0 and not missing:
        step.status = "ok"
    else:
        step.status = "failed"
        tail = _tail(log)
        step.message = diagnose(name, step.returncode, tail)
        if step.returncode == 0 and missing:
            step.message = f"{name} finished but did not write {', '.join(p.name for p in missing)}"
    step.artifacts = [str(p.relative_to(run_dir)) for p in (expect or []) if p.exists()]
    manifest.save()
    progress(
        f"{name}: {step.status} in {step.elapsed_s:.1f} s"
        + (f" — {step.message}" if step.message else "")
    )
    return step


#: Seconds between "still running" lines of a long step (ncu over a whole model: minutes).
HEARTBEAT_S = 15.0
_PROFILED = b"==PROF== Profiling"


def _wait_with_heartbeat(
    proc: subprocess.Popen[bytes],
    name: str,
    log: Path,
    t0: float,
    timeout_s: float,
    progress: Progress,
) -> int | None:
    """Wait for ``proc``; every :data:`HEARTBEAT_S` say it is still running (ncu: how many
    kernels it has profiled so far, counted in its log).  Past ``timeout_s`` the process is
    killed and None returned (the step is then recorded as failed, its output kept)."""
    profiled, read_to = 0, 0
    while True:
        left = timeout_s - (time.perf_counter() - t0)
        try:
            return proc.wait(timeout=max(0.0, min(HEARTBEAT_S, left)))
        except subprocess.TimeoutExpired:
            if time.perf_counter() - t0 >= timeout_s:
                proc.kill()
                proc.wait()
                return None
        if name == "ncu":
            with open(log, "rb") as fh:
                fh.seek(read_to)
                chunk = fh.read()
            # a marker cut at the chunk's end is counted next time: read up to its last newline
            cut = chunk.rfind(b"\n") + 1
            profiled += chunk[:cut].count(_PROFILED)
            read_to += cut
            progress(f"{name}: running, {profiled} kernels profiled so far")
        else:
            progress(f"{name}: running")


def _skip(manifest: Manifest, name: str, why: str, progress: Progress) -> None:
    manifest.steps.append(Step(name=name, argv=[], status="skipped", message=why))
    manifest.save()
    progress(f"{name}: skipped — {why}")


def metrics_cache_dir() -> Path:
    """Where ``ncu --query-metrics`` results are kept (``$XDG_CACHE_HOME/rooflens``)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "rooflens"


def _tool_or_skip(manifest: Manifest, name: str, hint: str, progress: Progress) -> Path | None:
    """The tool's path, or ``None`` after recording the step as skipped with ``hint``."""
    path = find_tool(name, required=False)
    if path is None:
        _skip(manifest, name, f"{name} not found ({hint})", progress)
    return path


def _program_env(tool: Path, opts: CaptureOptions) -> dict[str, str]:
    """The tool's environment; with ``opts.annotate`` the annotation sitecustomize on PYTHONPATH."""
    env = tool_env(tool)
    if opts.annotate:
        from rooflens.capture.annotate import annotation_env

        env = annotation_env(env)
    return env


def _capture_nsys(manifest: Manifest, opts: CaptureOptions, progress: Progress) -> None:
    run_dir = Path(manifest.run_dir)
    nsys = _tool_or_skip(manifest, "nsys", "set ROOFLENS_NSYS or use --timeline torch", progress)
    if nsys is None:
        return
    env = _program_env(nsys, opts)
    base = run_dir / "timeline"
    rep = base.with_suffix(".nsys-rep")
    step = run_step(
        manifest,
        "nsys",
        nsys_cmd.profile_command(nsys, base, opts.program),
        env=env,
        progress=progress,
        timeout_s=opts.step_timeout_s,
        expect=[rep],
    )
    qdstrm = base.with_suffix(".qdstrm")
    if not rep.exists() and qdstrm.exists():
        importer = nsys_cmd.importer_path(nsys)
        if importer is not None:
            run_step(
                manifest,
                "nsys-import",
                nsys_cmd.importer_command(importer, qdstrm),
                env=env,
                progress=progress,
                timeout_s=opts.step_timeout_s,
                expect=[rep],
            )
    if not rep.exists():
        return
    manifest.artifacts["nsys_rep"] = rep.name
    if step.status == "failed":
        step.message = f"{step.message} (the timeline up to that point is kept)"
    sqlite = base.with_suffix(".sqlite")
    exp = run_step(
        manifest,
        "nsys-export",
        nsys_cmd.export_command(nsys, rep, sqlite),
        env=env,
        progress=progress,
        timeout_s=opts.step_timeout_s,
        expect=[sqlite],
    )
    if exp.status == "ok":
        manifest.artifacts["nsys_sqlite"] = sqlite.name
        if opts.redact:
            from rooflens.capture.redact import redact_nsys_sqlite

            removed = redact_nsys_sqlite(sqlite)
            manifest.environment["nsys_sqlite_redacted"] = removed
            progress(f"nsys-export: removed {removed} environment/host entries from {sqlite.name}")


def _capture_torch(manifest: Manifest, opts: CaptureOptions, progress: Progress) -> None:
    run_dir = Path(manifest.run_dir)
    if opts.torch_program is None:
        _skip(
            manifest,
            "torch",
            "only the built-in workload can be run under torch.profiler",
            progress,
        )
        return
    trace = run_dir / "trace.json"
    argv = [*opts.torch_program, "--torch-profile", str(trace)]
    st = run_step(
        manifest,
        "torch",
        argv,
        env=None,
        progress=progress,
        timeout_s=opts.step_timeout_s,
        expect=[trace],
    )
    if st.status == "ok":
        manifest.artifacts["kineto_json"] = trace.name


def _capture_ncu(manifest: Manifest, opts: CaptureOptions, progress: Progress) -> None:
    run_dir = Path(manifest.run_dir)
    ncu = _tool_or_skip(manifest, "ncu", "install Nsight Compute or set ROOFLENS_NCU", progress)
    if ncu is None:
        return
    env = _program_env(ncu, opts)
    t_query = time.perf_counter()
    gpu = manifest.environment.get("gpu_name")
    available = ncu_cmd.query_metric_names(
        ncu, env, gpu_name=str(gpu) if gpu else None, cache_dir=metrics_cache_dir()
    )
    metrics, dropped = ncu_cmd.select_metrics(available)
    manifest.environment["ncu_query_metrics_s"] = round(time.perf_counter() - t_query, 3)
    manifest.environment["ncu_metrics_dropped"] = dropped
    extra = ["--launch-count", str(opts.ncu_launch_count)] if opts.ncu_launch_count else []
    if opts.ncu_kernel_regex:
        extra += [
            "--kernel-name-base",
            "demangled",
            "--kernel-name",
            f"regex:{opts.ncu_kernel_regex}",
        ]
    base = run_dir / "kernels"
    rep = base.with_suffix(".ncu-rep")
    argv = ncu_cmd.profile_command(
        ncu,
        base,
        opts.ncu_program or opts.program,
        run_regex=opts.run_regex,
        metrics=metrics,
        ncu_set=opts.ncu_set,
        clock_control=opts.clock_control,
        extra=extra,
    )
    step = run_step(
        manifest,
        "ncu",
        argv,
        env=env,
        progress=progress,
        timeout_s=opts.step_timeout_s,
        expect=[rep],
    )
    if not rep.exists():
        if (
            step.returncode == 0
            and "no kernels were profiled" in _tail(run_dir / "logs" / "ncu.log").lower()
        ):
            step.message = (
                f"ncu profiled no kernel: nothing matched the NVTX run {opts.run_regex!r}"
                " (check --nvtx-run against the range names in the nsys timeline)"
            )
            manifest.save()
        return
    manifest.artifacts["ncu_rep"] = rep.name
    # Both exports read the same report; running them side by side saves one export's time.
    exports = [
        (key, out, Step(name=name, argv=ncu_cmd.csv_export_command(ncu, rep, base_units=base)))
        for key, out, name, base in (
            ("ncu_csv", run_dir / "kernels.csv", "ncu-csv", False),
            ("ncu_csv_base", run_dir / "kernels_base.csv", "ncu-csv-base", True),
        )
    ]
    manifest.steps.extend(step for _, _, step in exports)
    with ThreadPoolExecutor(max_workers=len(exports)) as pool:
        list(pool.map(lambda e: _export_csv(e[2], e[1], env, opts.step_timeout_s), exports))
    for key, out, step in exports:
        progress(f"{step.name}: {step.status} in {step.elapsed_s:.1f} s")
        if step.status == "ok":
            manifest.artifacts[key] = out.name
    manifest.save()


def _export_csv(step: Step, out: Path, env: dict[str, str], timeout_s: float) -> None:
    """ncu prints the CSV on stdout: run ``step.argv`` with stdout into ``out``; fill in ``step``."""
    t0 = time.perf_counter()
    try:
        with open(out, "wb") as fh:
            proc = subprocess.run(
                step.argv, stdout=fh, stderr=subprocess.PIPE, env=env, timeout=timeout_s
            )
        step.returncode = proc.returncode
        step.status = "ok" if proc.returncode == 0 and out.stat().st_size > 0 else "failed"
        if step.status == "failed":
            step.message = diagnose(
                step.name, proc.returncode, proc.stderr.decode(errors="replace")
            )
    except (OSError, subprocess.SubprocessError) as exc:
        step.status, step.message = "failed", f"{step.name}: {exc}"
    step.elapsed_s = round(time.perf_counter() - t0, 3)
    step.artifacts = [out.name] if step.status == "ok" else []


def capture(manifest: Manifest, opts: CaptureOptions, progress: Progress | None = None) -> Manifest:
    """Run every requested step into ``manifest.run_dir``; failures are recorded, not raised."""
    say = progress or (lambda msg: print(msg, file=sys.stderr))
    manifest.settings["program"] = list(opts.program)
    manifest.settings["ncu_nvtx_run"] = opts.run_regex
    if opts.annotate is None:
        opts.annotate = opts.torch_program is None
    manifest.settings["annotate"] = opts.annotate
    manifest.save()
    manifest.environment.update(describe_environment())
    manifest.save()
    if "nsys" in opts.timelines:
        _capture_nsys(manifest, opts, say)
    if "torch" in opts.timelines:
        _capture_torch(manifest, opts, say)
    if opts.ncu:
        _capture_ncu(manifest, opts, say)
    manifest.save()
    return manifest


def _first_line(argv: list[str], env: dict[str, str] | None = None) -> str | None:
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=60, env=env)
    except (OSError, subprocess.SubprocessError):
        return None
    lines = [ln.strip() for ln in out.stdout.splitlines() if ln.strip()]
    return lines[-1] if out.returncode == 0 and lines else None


def describe_environment() -> dict[str, object]:
    """GPU, driver and tool versions (never environment variables)."""
    info: dict[str, object] = {"python": sys.version.split()[0]}
    smi = _first_line(
        ["nvidia-smi", "--query-gpu=name,driver_version,memory.total", "--format=csv,noheader"]
    )
    if smi:
        parts = [p.strip() for p in smi.split(",")]
        info["gpu_name"], info["driver_version"] = parts[0], parts[1] if len(parts) > 1 else None
        info["gpu_memory"] = parts[2] if len(parts) > 2 else None
    for tool in ("nsys", "ncu"):
        path = find_tool(tool, required=False)
        if path is not None:
            info[f"{tool}_path"] = str(path)
            info[f"{tool}_version"] = _first_line([str(path), "--version"], tool_env(path))
    return info


def failed_steps(manifest: Manifest) -> list[Step]:
    return [s for s in manifest.steps if s.status == "failed"]
