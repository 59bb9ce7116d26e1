"""`rooflens predict` / `rooflens hardware` end to end: outputs, JSON contract, sweep CSV, bad input."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "rooflens", *args], capture_output=True, text=True, timeout=60
    )


SEED = (
    "predict",
    "--model",
    "llama-2-7b",
    "--hardware",
    "H800",
    "--layers",
    "1",
    "--batch",
    "1",
    "--input-len",
    "128",
)


def test_json_follows_report_json_contract() -> None:
    res = run(*SEED, "--json")
    assert res.returncode == 0, res.stderr
    doc = json.loads(res.stdout)
    assert doc["schema_version"] == "1.5" and doc["header"]["layers"] == 1
    assert doc["gpu"]["spec_key"] == "nvidia_H800_SXM5_80G" and doc["gpu"]["peak_flops"] == 989.5e12
    phases = doc["prediction"]["phases"]
    assert set(phases) == {"prefill", "decode_first_token", "decode_total", "overall"}
    for ph in phases.values():
        assert {"flops", "bytes", "intensity", "time_s", "bound", "performance_flops"} <= set(ph)
    assert phases["decode_total"]["steps"] == 0
    ops = doc["prediction"]["operators"]
    keys = {
        "name",
        "phase",
        "layer",
        "count",
        "flops",
        "bytes",
        "intensity",
        "compute_time_s",
        "memory_time_s",
        "time_s",
        "bound",
    }
    assert all(keys <= set(o) for o in ops)
    prefill_time = sum(o["time_s"] for o in ops if o["phase"] == "prefill")
    assert prefill_time == pytest.approx(phases["prefill"]["time_s"])


def test_markdown_block_in_seed_format() -> None:
    res = run(*SEED, "--format", "md", "--lang", "zh")
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    assert lines[0] == " 硬件: nvidia_H800_SXM5_80G"
    assert lines[1] == " 精度: W16 / A16 / KV16"
    assert (
        lines[2].startswith(" Prefill 阶段: 强度 ")
        and "OPs/Byte, 受限类型 memory, 性能 " in lines[2]
    )
    assert "预计时长 " in lines[2] and lines[2].endswith(" GB")
    assert lines[3].startswith(" Decode 单token: ") and "总时长(@输出1 token) 0 ms" in lines[3]
    assert lines[4].startswith(" 总体估计: ")
    en = run(*SEED, "--format", "md", "--lang", "en", "--ops")
    assert " Prefill: intensity " in en.stdout and "| qkv_proj | prefill | 1 |" in en.stdout


def test_table_output() -> None:
    res = run(*SEED, "--ops")
    assert res.returncode == 0 and "decode_total" in res.stdout and "qkv_proj" in res.stdout


def test_sweep_csv_and_no_overwrite(tmp_path: Path) -> None:
    out = tmp_path / "sweep.csv"
    args = (
        "predict",
        "-m",
        "qwen3-0.6b",
        "--sweep",
        "-b",
        "1,8,32",
        "-s",
        "128,1024",
        "-n",
        "1,128",
    )
    res = run(*args, "--csv", str(out))
    assert res.returncode == 0, res.stderr
    with out.open() as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 3 * 2 * 2
    assert {(r["batch"], r["input_len"], r["output_len"]) for r in rows} == {
        (b, s, n) for b in ("1", "8", "32") for s in ("128", "1024") for n in ("1", "128")
    }
    assert all(r["decode_steps"] == str(int(r["output_len"]) - 1) for r in rows)
    again = run(*args, "--csv", str(out))
    assert again.returncode == 2 and "--force" in again.stderr
    assert run(*args, "--csv", str(out), "--force").returncode == 0


def test_hardware_lists_table() -> None:
    res = run("hardware", "--json")
    assert res.returncode == 0
    keys = {g["key"] for g in json.loads(res.stdout)}
    assert {"nvidia_H800_SXM5_80G", "amd_MI300X_192G"} <= keys


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("predict", "-m", "gpt2", "--batch", "0"), "--batch"),
        (("predict", "-m", "gpt2", "--input-len", "-5"), "--input-len"),
        (("predict", "-m", "gpt2", "--output-len", "x"), "--output-len"),
        (("predict", "-m", "gpt2", "--batch", "1,2"), "--sweep"),
        (("predict", "-m", "no-such-model"), "unknown model"),
        (("predict", "-m", "gpt2", "--hardware", "H900"), "H800"),
        (("predict", "-m", "gpt2", "--precision", "W3A7"), "precision"),
        (("predict", "-m", "gpt2", "--attention", "sdpa"), "--attention"),
        (("hardware", "Z100"), "unknown GPU"),
    ],
)
def test_bad_input_is_one_line_exit_2(args: tuple[str, ...], needle: str) -> None:
    res = run(*args)
    assert res.returncode == 2
    assert res.stderr.count("\n") == 1 and res.stderr.startswith("rooflens: ")
    assert needle in res.stderr and "Traceback" not in res.stderr


def test_bad_config_files(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{oops")
    notlm = tmp_path / "t5.json"
    notlm.write_text(json.dumps({"model_type": "t5", "is_encoder_decoder": True, "d_model": 512}))
    for path, needle in ((bad, "malformed JSON"), (notlm, "not a decoder")):
        res = run("predict", "-m", str(path))
        assert res.returncode == 2 and needle in res.stderr and str(path) in res.stderr
        assert res.stderr.count("\n") == 1
