"""A full capture of the built-in workload on a real GPU, parsed back with rooflens.traces.

Runs only on a GPU machine (``pytest -m gpu``); it is how the fixtures under tests/fixtures are
regenerated (scripts/gpu_capture.sh runs the same command).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from rooflens.traces import load_ncu, load_timeline

from .test_workload_cpu import predicted_operator_names

pytestmark = pytest.mark.gpu

OPERATORS = predicted_operator_names("llama-3-8b")


def test_full_capture_parses(tmp_path: Path) -> None:
    out = tmp_path / "run"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "rooflens",
            "profile",
            "--model",
            "llama-3-8b",
            "--layers",
            "1",
            "--input-len",
            "128",
            "--output-len",
            "2",
            "--timeline",
            "both",
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    manifest = json.loads((out / "manifest.json").read_text())
    assert {"nsys_sqlite", "kineto_json", "ncu_rep", "ncu_csv", "ncu_csv_base"} <= set(
        manifest["artifacts"]
    )
    assert all(s["status"] == "ok" for s in manifest["steps"])
    assert "ENVIRONMENT" not in json.dumps(manifest)

    trace = load_timeline(out / "timeline.sqlite")
    names = {trace.strings[int(i)] for i in trace.ranges.name_id}
    assert OPERATORS <= names, OPERATORS - names
    assert {"Run[0]", "Run[2]", "prefill", "decode[1]", "Layer[0]#Run[2]"} <= names

    kineto = load_timeline(out / "trace.json")
    assert len(kineto.kernels.start_s) > 0

    ncu = load_ncu(out / "kernels.csv")
    assert len(ncu.kernels) > 20
    # One ncu pass over the last run: every kernel sits inside Run[2].
    assert all(any(re.search(r"Run\[2\]", n) for n in k.nvtx) for k in ncu.kernels)
    rep = load_ncu(out / "kernels.ncu-rep")
    assert len(rep.kernels) == len(ncu.kernels)
