"""``rooflens report`` on the annotated Hugging Face captures (tests/fixtures/h200_hf_*/annotated):
the same sections as the built-in workload's, prefill and decode operators predicted vs measured;
bad input (wrong model, no kernels) is one line and exit code 2."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
ARGS = {
    "llama": ["--model", "llama-3-8b", "--input-len", "256"],
    "qwen3moe": ["--model", "qwen3-30b-a3b", "--input-len", "128"],
}
COMMON = ["--batch", "4", "--output-len", "8", "--lang", "en"]


def report(tmp_path: Path, inputs: Path, *args: str) -> subprocess.CompletedProcess[str]:
    cmd = [
        sys.executable,
        "-m",
        "rooflens",
        "report",
        str(inputs),
        *args,
        "--out",
        str(tmp_path / "rep"),
    ]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("model", ["llama", "qwen3moe"])
def test_report_of_a_foreign_program(tmp_path: Path, model: str) -> None:
    run = shutil.copytree(FIXTURES / f"h200_hf_{model}/annotated", tmp_path / "run")
    r = report(tmp_path, run, *ARGS[model], "--layers", "2", *COMMON)
    assert r.returncode == 0, r.stderr
    doc = json.loads((tmp_path / "rep/report.json").read_text())
    assert doc["timeline"]["chosen_run"] == "Run[1]"
    rows = doc["comparison"]["operators"]
    both = {(o["name"], o["phase"]) for o in rows if o["predicted_time_s"] and o["measured_time_s"]}
    wanted = {"attn_norm", "qkv_proj", "rope", "kv_cache_write", "attention", "o_proj",
              "mlp_norm", "final_norm", "lm_head", "sampling"}  # fmt: skip
    wanted |= (
        {"router", "experts", "qk_norm"}
        if model == "qwen3moe"
        else {"gate_up_proj", "act", "down_proj"}
    )
    for phase in ("prefill", "decode"):
        assert {(op, phase) for op in wanted} <= both, sorted(both)
    assert doc["comparison"]["scope"]["layers"] == [0, 1]
    assert doc["comparison"]["scope"]["decode_steps"] == 7
    md = (tmp_path / "rep/report.md").read_text()
    for heading in ("# 1. Roofline prediction", "# 2. Nsys global overview", "# 3. NCU deep analysis",
                    "# 4. Operator view", "## Where the time goes", "## Charts"):  # fmt: skip
        assert heading in md, heading
    assert md.count("\n") < 800
    for png in ("roofline.png", "timeline.png", "operators.png"):
        assert (tmp_path / "rep" / png).stat().st_size > 0


def test_a_model_with_fewer_layers_than_the_capture_is_refused(tmp_path: Path) -> None:
    run = shutil.copytree(FIXTURES / "h200_hf_llama/annotated", tmp_path / "run")
    r = report(tmp_path, run, *ARGS["llama"], "--layers", "1", *COMMON)
    assert r.returncode == 2
    assert r.stderr.strip().count("\n") == 0
    assert "decoder layers 0…1 but the model has 1: pass --layers 2" in r.stderr


def test_a_capture_without_kernels_is_refused(tmp_path: Path) -> None:
    empty = tmp_path / "empty.sqlite"
    shutil.copy(FIXTURES / "h200_hf_llama/plain.sqlite", empty)
    with sqlite3.connect(empty) as db:
        db.execute("DELETE FROM CUPTI_ACTIVITY_KIND_KERNEL")
    r = report(tmp_path, empty, *ARGS["llama"], "--layers", "2", *COMMON)
    assert r.returncode == 2
    assert (
        r.stderr.strip()
        == f"rooflens: {empty}: no GPU kernel in the capture (did the program run on the GPU, traced with -t cuda?)"
    )
