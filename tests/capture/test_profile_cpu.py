"""`rooflens profile` without a GPU: fake nsys/ncu executables on PATH drive every path.

The fakes write the files the real tools write (a real fixture SQLite stands in for the nsys
export) or fail the way the real tools fail (ERR_NVGPUCTRPERM, the program's exit code).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from rooflens import tools
from rooflens.capture.rundir import claim_out_dir, new_run_dir
from rooflens.commands.profile import builtin_program
from rooflens.errors import RooflensError, ToolMissingError

FIX = Path(__file__).parents[1] / "fixtures" / "h200_llama3_8b_prefill"
SECRET = "hf_do_not_leak_1234567890"

FAKE_NSYS = r"""#!/usr/bin/env python3
import os, shutil, sys
a = sys.argv[1:]
if a[:1] == ["--version"]:
    print("NVIDIA Nsight Systems version 2099.1.0-fake"); sys.exit(0)
if a[:1] == ["profile"]:
    out = a[a.index("-o") + 1]
    if not os.environ.get("FAKE_NSYS_NOREP"):
        open(out + ".nsys-rep", "wb").write(b"fake report")
    print("program output line"); sys.exit(int(os.environ.get("FAKE_PROGRAM_RC", "0")))
if a[:1] == ["export"]:
    shutil.copy(os.environ["FAKE_SQLITE"], a[a.index("-o") + 1]); sys.exit(0)
sys.exit(9)
"""

FAKE_NCU = r"""#!/usr/bin/env python3
import os, sys
a = sys.argv[1:]
if a[:1] == ["--version"]:
    print("Version 2099.1.0 (fake)"); sys.exit(0)
if "--query-metrics" in a:
    print("gpu__time_duration  Counter  ns  duration"); print("dram__bytes_read  Counter  byte  x")
    print("sm__ops_path_tensor_src_fp16  Counter  none  x"); sys.exit(0)
if "--import" in a:
    sys.stdout.write(open(os.environ["FAKE_CSV"]).read()); sys.exit(0)
if os.environ.get("FAKE_NCU_PERM"):
    print("==ERROR== ERR_NVGPUCTRPERM - The user does not have permission to access NVIDIA GPU Performance Counters")
    sys.exit(1)
open(a[a.index("-o") + 1] + ".ncu-rep", "wb").write(b"fake")
sys.exit(0)
"""


FAKE_SMI = r"""#!/usr/bin/env python3
import sys
if "-L" in sys.argv:
    print("GPU 0: NVIDIA H200 (UUID: GPU-00000000-fake)"); sys.exit(0)
print("NVIDIA H200, 570.00, 143771 MiB"); sys.exit(0)
"""


@pytest.fixture
def fake_tools(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, text in (("nsys", FAKE_NSYS), ("ncu", FAKE_NCU), ("nvidia-smi", FAKE_SMI)):
        p = bin_dir / name
        p.write_text(
            text.replace("/usr/bin/env python3", sys.executable, 1).replace(
                "#!" + sys.executable, "#!" + sys.executable
            )
        )
        p.chmod(p.stat().st_mode | stat.S_IEXEC)
    sqlite = tmp_path / "fixture.sqlite"
    shutil.copy(FIX / "timeline.sqlite", sqlite)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_SQLITE", str(sqlite))
    monkeypatch.setenv("FAKE_CSV", str(FIX / "kernels.csv"))
    monkeypatch.setenv("HF_TOKEN", SECRET)
    for var in (
        "ROOFLENS_NSYS",
        "ROOFLENS_NCU",
        "FAKE_NCU_PERM",
        "FAKE_PROGRAM_RC",
        "FAKE_NSYS_NOREP",
    ):
        monkeypatch.delenv(var, raising=False)
    return tmp_path


def _profile(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "rooflens", "profile", *args],
        capture_output=True,
        text=True,
        env=os.environ.copy(),
        timeout=120,
    )


def test_builtin_capture_writes_manifest_without_environment(fake_tools: Path) -> None:
    out = fake_tools / "run"
    r = _profile("--model", "llama-3-8b", "--layers", "1", "--out", str(out))
    assert r.returncode == 0, r.stderr
    m = json.loads((out / "manifest.json").read_text())
    assert m["artifacts"] == {
        "nsys_rep": "timeline.nsys-rep",
        "nsys_sqlite": "timeline.sqlite",
        "ncu_rep": "kernels.ncu-rep",
        "ncu_csv": "kernels.csv",
        "ncu_csv_base": "kernels_base.csv",
    }
    assert [s["name"] for s in m["steps"]] == [
        "nsys",
        "nsys-export",
        "ncu",
        "ncu-csv",
        "ncu-csv-base",
    ]
    assert all(s["status"] == "ok" for s in m["steps"])
    s = m["settings"]
    assert (s["model"], s["batch"], s["input_len"], s["output_len"], s["layers"], s["runs"]) == (
        "llama-3-8b",
        1,
        128,
        1,
        1,
        3,
    )
    assert s["ncu_nvtx_run"] == r"^ncu#Run\[2\]$"  # the default --ncu-scope sample
    assert m["environment"]["nsys_version"].endswith("2099.1.0-fake")
    ncu_argv = next(st["argv"] for st in m["steps"] if st["name"] == "ncu")
    assert ncu_argv[ncu_argv.index("--nvtx-include") + 1] == r"regex:^ncu#Run\[2\]$/"
    assert ncu_argv[ncu_argv.index("--clock-control") + 1] == "none"
    # Tokens live in the environment: nothing of it reaches the run folder's text files.
    for f in out.rglob("*"):
        if f.is_file() and f.suffix in (".json", ".log", ".csv"):
            assert SECRET not in f.read_text(errors="replace"), f
    # The SQLite export was redacted in place.
    import sqlite3

    con = sqlite3.connect(out / "timeline.sqlite")
    envs = con.execute(
        "SELECT value FROM META_DATA_CAPTURE WHERE name LIKE '%ENVIRONMENT%'"
    ).fetchall()
    assert envs and all(v == ("[redacted by rooflens]",) for v in envs)


def test_ncu_permission_error_keeps_nsys_and_says_what_to_do(
    fake_tools: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_NCU_PERM", "1")
    out = fake_tools / "run"
    r = _profile("--model", "llama-3-8b", "--out", str(out))
    assert r.returncode == 2
    last = r.stderr.strip().splitlines()[-1]
    assert last.startswith("rooflens: capture incomplete") and "ERR_NVGPUCTRPERM" in last
    assert "Traceback" not in r.stderr
    m = json.loads((out / "manifest.json").read_text())
    assert m["artifacts"]["nsys_sqlite"] == "timeline.sqlite"
    ncu_step = next(s for s in m["steps"] if s["name"] == "ncu")
    assert ncu_step["status"] == "failed" and "ERR_NVGPUCTRPERM" in ncu_step["message"]


def test_failing_program_reports_its_exit_code(
    fake_tools: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_PROGRAM_RC", "3")
    out = fake_tools / "run"
    r = _profile("--skip-ncu", "--out", str(out), "--", sys.executable, "-c", "pass")
    assert r.returncode == 2
    assert (
        "the profiled program exited with code 3; its last output: program output line" in r.stderr
    )
    m = json.loads((out / "manifest.json").read_text())
    assert (
        m["settings"]["workload"] == "command" and m["artifacts"]["nsys_rep"] == "timeline.nsys-rep"
    )


def test_missing_nsys_is_skipped_with_a_hint(
    fake_tools: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (fake_tools / "bin" / "nsys").unlink()
    monkeypatch.setattr(tools, "_KNOWN_LOCATIONS", {"nsys": [], "ncu": []})
    monkeypatch.setenv("PATH", f"{fake_tools / 'bin'}{os.pathsep}/usr/bin:/bin")
    assert tools.find_tool("nsys", required=False) is None
    with pytest.raises(ToolMissingError, match="ROOFLENS_NSYS"):
        tools.find_tool("nsys")


def test_out_dir_is_never_overwritten(fake_tools: Path) -> None:
    out = fake_tools / "taken"
    out.mkdir()
    (out / "mine.txt").write_text("keep me")
    r = _profile("--out", str(out))
    assert r.returncode == 2 and "never overwrites" in r.stderr
    assert (out / "mine.txt").read_text() == "keep me" and len(list(out.iterdir())) == 1
    with pytest.raises(RooflensError):
        claim_out_dir(out / "mine.txt")


def test_new_run_dirs_are_unique(tmp_path: Path) -> None:
    import datetime as dt

    now = dt.datetime(2026, 11, 26, 2, 30, 0)
    a = new_run_dir(tmp_path, "llama-3-8b_b1_i128_o1", now)
    b = new_run_dir(tmp_path, "llama-3-8b_b1_i128_o1", now)
    assert a.name == "llama-3-8b_b1_i128_o1_20261126-023000" and b.name == a.name + "-2"


@pytest.mark.parametrize(
    "args, words",
    [
        (["--batch", "0"], "--batch must be an integer ≥ 1, got 0"),
        (["--output-len", "99999999999"], "--output-len 99999999999 is beyond"),
        (["--dtype", "fp64"], "--dtype must be fp16 or bf16"),
        (["--model", "no-such-model"], "no-such-model"),
        (["--timeline", "perfetto"], "--timeline must be"),
        (["--nvtx-run", "Run[2"], "--nvtx-run 'Run[2' is not a valid regex"),
        (["--ncu-kernel", "(gemm"], "--ncu-kernel '(gemm' is not a valid regex"),
        (["--ncu-launch-count", "0"], "--ncu-launch-count must be at least 1"),
        (["--model", "deepseek-v3"], "MLA"),
    ],
)
def test_bad_options_fail_in_one_line(fake_tools: Path, args: list[str], words: str) -> None:
    r = _profile(*args, "--out", str(fake_tools / "x"))
    assert r.returncode == 2
    assert len(r.stderr.strip().splitlines()) == 1 and words in r.stderr, r.stderr


def test_env_override_and_known_locations(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ROOFLENS_NCU", raising=False)
    monkeypatch.setenv("PATH", "/nonexistent")
    inside = tmp_path / "nsight-compute" / "2025.3.1" / "host" / "target-linux-x64"
    inside.mkdir(parents=True)
    exe = inside / "nsys"
    exe.write_text("#!/bin/sh\n")
    exe.chmod(0o755)
    monkeypatch.setattr(
        tools,
        "_KNOWN_LOCATIONS",
        {"nsys": [str(tmp_path / "nsight-compute/*/host/target-linux-x64/nsys")]},
    )
    assert tools.find_tool("nsys") == exe
    monkeypatch.setenv("ROOFLENS_NSYS", str(tmp_path / "nope"))
    with pytest.raises(ToolMissingError, match="not an executable"):
        tools.find_tool("nsys")


def _rooflens(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "rooflens", *args],
        capture_output=True,
        text=True,
        env=os.environ.copy(),
        timeout=120,
        cwd=cwd,
    )


def _one_line_error(r: subprocess.CompletedProcess[str]) -> str:
    assert r.returncode == 2, (r.returncode, r.stderr)
    assert "Traceback" not in r.stderr
    last = r.stderr.strip().splitlines()[-1]
    assert last.startswith("rooflens: ")
    return last


def _only_fake_bin(fake_tools: Path, monkeypatch: pytest.MonkeyPatch, *remove: str) -> None:
    for name in remove:
        (fake_tools / "bin" / name).unlink()
    monkeypatch.setenv("PATH", f"{fake_tools / 'bin'}{os.pathsep}/usr/bin{os.pathsep}/bin")


@pytest.mark.parametrize("verb", ["profile", "run"])
def test_no_gpu_fails_before_creating_anything(
    fake_tools: Path, monkeypatch: pytest.MonkeyPatch, verb: str
) -> None:
    _only_fake_bin(fake_tools, monkeypatch, "nvidia-smi")
    runs = fake_tools / "runs"
    r = _rooflens(verb, "--runs-dir", str(runs), cwd=fake_tools)
    line = _one_line_error(r)
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert "no NVIDIA GPU found" in line and "nsys" not in line.split("GPU found")[1], line
    assert not runs.exists() and not (fake_tools / "rooflens-runs").exists()


def test_missing_tools_are_named_with_how_to_get_them(
    fake_tools: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _only_fake_bin(fake_tools, monkeypatch, "nsys", "ncu")
    out = fake_tools / "run"
    line = _one_line_error(_rooflens("profile", "--out", str(out)))
    assert "nsys not found" in line and "ROOFLENS_NSYS" in line and "--timeline torch" in line
    assert "ncu not found" in line and "ROOFLENS_NCU" in line and "--skip-ncu" in line
    assert "GPU" not in line and not out.exists()
    # A tool the user chose to skip is not required.
    line = _one_line_error(_rooflens("profile", "--skip-ncu", "--out", str(out)))
    assert "nsys not found" in line and "ncu" not in line and not out.exists()
    line = _one_line_error(
        _rooflens("profile", "--skip-ncu", "--out", str(out), "--", "no-such-program-x")
    )
    assert "'no-such-program-x' is not an executable" in line and "--skip-nsys" in line
    line = _one_line_error(_rooflens("profile", "--skip-ncu", "--skip-nsys", "--", "true"))
    assert "nothing to capture" in line


def test_capture_that_captured_nothing_leaves_no_folder(
    fake_tools: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_NSYS_NOREP", "1")
    monkeypatch.setenv("FAKE_PROGRAM_RC", "3")
    runs = fake_tools / "runs"
    cmd = ("--skip-ncu", "--runs-dir", str(runs), "--", sys.executable, "-c", "pass")
    line = _one_line_error(_rooflens("profile", *cmd))
    assert "nothing was captured" in line and "removed" in line
    assert "exited with code 3; its last output: program output line" in line
    assert not runs.exists()
    # An empty --out folder the user made stays, and stays empty.
    out = fake_tools / "mine"
    out.mkdir()
    _one_line_error(_rooflens("profile", "--skip-ncu", "--out", str(out), "--", "true"))
    assert out.is_dir() and list(out.iterdir()) == []
    # `run` does not pretend the capture was done.
    runs.mkdir()
    line = _one_line_error(_rooflens("run", "--skip-ncu", "--runs-dir", str(runs)))
    assert "nothing was captured" in line and "capture done" not in line
    assert list(runs.iterdir()) == []


def test_bad_run_folder_paths_are_one_line(fake_tools: Path) -> None:
    a_file = fake_tools / "a_file"
    a_file.write_text("mine")
    cases = [
        (("--out", str(a_file)), "exists and is not a folder"),
        (("--out", str(a_file / "sub")), "is a file, not a folder"),
        (("--out", str(fake_tools / ("x" * 300))), "name too long"),
        (("--runs-dir", str(a_file)), "exists and is not a folder"),
        (("--runs-dir", str(a_file / "runs")), "is a file, not a folder"),
    ]
    for args, words in cases:
        r = _profile("--skip-ncu", *args)
        line = _one_line_error(r)
        assert words in line.lower() and len(r.stderr.strip().splitlines()) == 1, (args, line)
    assert a_file.read_text() == "mine"
    assert sorted(p.name for p in fake_tools.iterdir()) == sorted(
        ["bin", "a_file", "fixture.sqlite"]
    )


# --tp N (tensor parallel, issue 14): checked before anything is created.
@pytest.mark.parametrize("verb", ["profile", "run"])
def test_tp_with_too_few_gpus_fails_before_creating_anything(fake_tools: Path, verb: str) -> None:
    runs = fake_tools / "runs"
    r = _rooflens(verb, "--tp", "2", "--runs-dir", str(runs), cwd=fake_tools)
    line = _one_line_error(r)  # the fake nvidia-smi lists one GPU
    assert "--tp 2 needs 2 GPUs but 1 visible" in line
    assert not runs.exists() and not (fake_tools / "rooflens-runs").exists()


def test_tp_that_does_not_divide_the_heads_is_one_line(fake_tools: Path) -> None:
    line = _one_line_error(_rooflens("profile", "--tp", "3", "--out", str(fake_tools / "x")))
    assert "--tp 3 does not divide" in line and not (fake_tools / "x").exists()


def test_builtin_program_runs_under_torchrun_at_tp() -> None:
    kw = dict(batch=1, input_len=8, output_len=2, layers=1, runs=2, dtype="fp16", cuda_graph=False)
    one = builtin_program(Path("s.json"), summary=None, **kw)  # type: ignore[arg-type]
    two = builtin_program(Path("s.json"), summary=None, tp=2, **kw)  # type: ignore[arg-type]
    assert one[:3] == [sys.executable, "-m", "rooflens.capture.workload"]
    assert two[: two.index("rooflens.capture.workload") + 1] == [
        sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
        "-m", "rooflens.capture.workload",
    ]  # fmt: skip
    assert two[two.index("rooflens.capture.workload") + 1 :] == one[3:]
    assert os.environ.get("NCCL_NVLS_ENABLE") in (None, "0")


def test_run_keeps_exit_code_3_for_an_internal_error(
    fake_tools: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from rooflens import cli, pipeline
    from rooflens.errors import InternalError

    def broken(*args: object) -> None:
        raise InternalError("report self-check failed: share 1.5 outside [0, 1]")

    monkeypatch.setattr(pipeline, "analyse_inputs", broken)
    monkeypatch.delenv("ROOFLENS_DEBUG", raising=False)
    out = fake_tools / "run"
    with pytest.raises(SystemExit) as exc:
        cli.main(["run", "--skip-ncu", "--out", str(out)])
    assert exc.value.code == 3
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert last.startswith("rooflens: internal error: ") and "capture kept" in last, last
    assert (out / "timeline.sqlite").is_file()  # the capture itself stays


@pytest.mark.parametrize(
    ("scope", "graph", "expected"),
    [
        ("sample", False, True),
        ("check", False, True),
        ("run", False, False),
        ("sample", True, False),
    ],
)
def test_ncu_pass_of_a_sample_launches_only_the_sample(
    tmp_path: Path, scope: str, graph: bool, expected: bool
) -> None:
    from rooflens.commands.profile import CaptureRequest, _options

    req = CaptureRequest(ncu_scope=scope, cuda_graph=graph, output_len=8, layers=4)
    opts = _options(req, tmp_path, ("nsys",), '{"hidden_size": 8}')
    assert "--sample-only" not in opts.program  # nsys times the whole run
    if expected:
        assert opts.ncu_program is not None and "--sample-only" in opts.ncu_program
        assert "--summary" not in opts.ncu_program  # the nsys pass's summary is kept
        rest = [a for a in opts.ncu_program if a != "--sample-only"]
        assert rest == [
            a for a in opts.program if a not in ("--summary", str(tmp_path / "workload.json"))
        ]
    else:
        assert opts.ncu_program is None


def test_without_nsys_the_ncu_pass_writes_the_workload_summary(tmp_path: Path) -> None:
    from rooflens.commands.profile import CaptureRequest, _options

    opts = _options(CaptureRequest(output_len=8), tmp_path, ("torch",), '{"hidden_size": 8}')
    assert opts.ncu_program is not None
    assert opts.ncu_program[opts.ncu_program.index("--summary") + 1] == str(
        tmp_path / "workload.json"
    )


def test_a_long_ncu_step_says_how_many_kernels_it_has_profiled(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from rooflens.capture import profile as capture_profile
    from rooflens.capture.rundir import Manifest

    monkeypatch.setattr(capture_profile, "HEARTBEAT_S", 0.05)
    prog = (
        "import sys, time\n"
        "for i in range(3):\n"
        "    print(f'==PROF== Profiling \"k{i}\" - {i}: 0%....100% - 17 passes', flush=True)\n"
        "    time.sleep(0.3)\n"
    )
    said: list[str] = []
    step = capture_profile.run_step(
        Manifest(str(tmp_path), {}), "ncu", [sys.executable, "-c", prog],
        env=None, progress=said.append, timeout_s=30,
    )  # fmt: skip
    assert step.status == "ok" and step.returncode == 0
    counts = [int(m.group(1)) for m in map(re.compile(r"running, (\d+) kernels").search, said) if m]
    assert counts and counts == sorted(counts) and counts[-1] <= 3 and max(counts) >= 1
    assert said[-1].startswith("ncu: ok in")


def test_a_step_past_its_time_limit_is_killed_and_recorded_failed(tmp_path: Path) -> None:
    from rooflens.capture.profile import run_step
    from rooflens.capture.rundir import Manifest

    step = run_step(
        Manifest(str(tmp_path), {}), "nsys", [sys.executable, "-c", "import time; time.sleep(30)"],
        env=None, progress=lambda _: None, timeout_s=0.5,
    )  # fmt: skip
    # killed at the limit (had it been waited for, it would have ended with code 0)
    assert step.status == "failed" and step.returncode is None
