"""`rooflens analyze` end to end on the real H200 capture; expected numbers from SQL and the CSV."""

from __future__ import annotations

import csv
import json
import sqlite3
from pathlib import Path

import pytest

from .synth import analyze_ok

PREFILL = Path(__file__).resolve().parents[1] / "fixtures" / "h200_llama3_8b_prefill"
pytestmark = pytest.mark.skipif(not PREFILL.exists(), reason="real fixtures not present")


def _csv_flops() -> float:
    lines = [ln for ln in (PREFILL / "kernels.csv").read_text().splitlines() if ln.startswith('"')]
    rows = list(csv.DictReader(lines))[1:]  # row 1 holds the units
    tensor = ["fp16", "bf16_dst_fp32", "tf32_dst_fp32", "fp8", "int8", "fp64"]
    total = 0.0

    def num(r: dict[str, str], k: str) -> float:
        return float(r[k].replace(",", "")) if r.get(k) not in (None, "", "n/a") else 0.0

    for r in rows:
        total += sum(num(r, f"sm__ops_path_tensor_src_{t}.sum") for t in tensor)
        for op, factor in (("fadd", 1), ("fmul", 1), ("ffma", 2), ("hadd", 1), ("hmul", 1), ("hfma", 2),
                           ("dadd", 1), ("dmul", 1), ("dfma", 2)):  # fmt: skip
            total += factor * num(r, f"sm__sass_thread_inst_executed_op_{op}_pred_on.sum")
    return total


def test_json_from_nsys_and_ncu(capsys: pytest.CaptureFixture[str]) -> None:
    doc = json.loads(
        analyze_ok(capsys, str(PREFILL / "timeline.sqlite"), str(PREFILL / "kernels.csv"), "--json")
    )
    con = sqlite3.connect(PREFILL / "timeline.sqlite")
    ((gpu,),) = con.execute("SELECT name FROM TARGET_INFO_GPU").fetchall()
    ((n, total_ns),) = con.execute(
        "SELECT COUNT(*), SUM(k.end - k.start) FROM CUPTI_ACTIVITY_KIND_KERNEL k JOIN CUPTI_ACTIVITY_KIND_RUNTIME r "
        "ON r.correlationId = k.correlationId JOIN NVTX_EVENTS n ON n.text = 'Run[2]' "
        "AND n.globalTid = r.globalTid AND r.start BETWEEN n.start AND n.end"
    ).fetchall()
    con.close()
    assert doc["schema_version"] == "1.5"
    assert doc["gpu"]["detected_name"] == gpu and doc["gpu"]["spec_key"]
    assert doc["timeline"]["chosen_run"] == "Run[2]" and len(doc["timeline"]["kernels"]) == n
    assert len(doc["kernels"]) == 28
    m = doc["measured"]
    assert m["kernel_time_s"] == pytest.approx(
        total_ns * 1e-9, rel=1e-9
    )  # nsys durations, not NCU's
    assert m["flops"] == pytest.approx(_csv_flops(), rel=1e-9)
    assert m["achieved_flops_per_s"] == pytest.approx(m["flops"] / m["kernel_time_s"])
    assert 0 < m["compute_utilization"] < 1 and 0 < m["memory_utilization"] < 1


def test_tables(capsys: pytest.CaptureFixture[str]) -> None:
    out = analyze_ok(capsys, str(PREFILL / "trace.json"), str(PREFILL / "kernels_base.csv"))
    flat = " ".join(out.split())  # titles wrap at 80 columns where the (checkout-dependent) path ends
    for text in (
        "Runs (kineto",
        "chosen: Run[2]",
        "Kernels of Run[2]",
        "NCU per kernel",
        "Measured:",
    ):
        assert text in flat
