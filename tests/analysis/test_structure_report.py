"""`rooflens report` on a capture with no NVTX: the decode4 capture with its NVTX table emptied
gives the same runs, phases and operator rows as with it, and says how each operator was found."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "h200_llama3_8b_decode4"
ARGS = ("--model", "llama-3-8b", "--layers", "1", "--batch", "1", "--input-len", "128",
        "--output-len", "4", "--lang", "en")  # fmt: skip


def _report(trace: Path, out: Path) -> dict:  # type: ignore[type-arg]
    r = subprocess.run([sys.executable, "-m", "rooflens", "report", str(trace), *ARGS, "--out", str(out)],
                       capture_output=True, text=True, timeout=300)  # fmt: skip
    assert r.returncode == 0, r.stderr
    return json.loads((out / "report.json").read_text())  # type: ignore[no-any-return]


def _measured(report: dict) -> dict:  # type: ignore[type-arg]
    return {
        (o["name"], o["phase"]): o["measured_time_s"] for o in report["comparison"]["operators"]
    }


def _measured(report: dict) -> dict:  # type: ignore[type-arg]
    """Measured time per (operator, phase) row of the comparison."""
    return {
        (o["name"], o["phase"]): o["measured_time_s"] for o in report["comparison"]["operators"]
    }


def test_plain_capture_report(tmp_path: Path, without_nvtx: Any) -> None:
    plain = without_nvtx(FIX / "timeline.sqlite")
    got = _report(plain, tmp_path / "plain")
    want = _report(FIX / "timeline.sqlite", tmp_path / "nvtx")
    assert got["timeline"]["chosen_run"] == want["timeline"]["chosen_run"] == "Run[2]"
    assert [k["phase"] for k in got["timeline"]["kernels"]] == [
        k["phase"] for k in want["timeline"]["kernels"]
    ]
    g, w = _measured(got), _measured(want)
    assert {k for k, v in g.items() if v} == {k for k, v in w.items() if v}
    for key, v in w.items():
        assert abs((g[key] or 0.0) - (v or 0.0)) <= 1e-9 + 1e-6 * (v or 0.0), key
    assert {k["source"] for k in got["comparison"]["kernel_operators"]} == {
        "name+position",
        "position",
    }
    assert "nvtx" in {k["source"] for k in want["comparison"]["kernel_operators"]}
    md = (tmp_path / "plain" / "report.md").read_text()
    assert "inferred from the kernel stream" in md and "evidence by kernel time" in md


def test_hugging_face_plain_capture_report(tmp_path: Path) -> None:
    """The plain nsys capture of a Hugging Face generate() (no NVTX): the last generate() is the
    chosen run, prefill and every decode operator is predicted and measured, and every kernel's
    operator states its evidence."""
    trace = FIX.parent / "h200_hf_llama" / "plain.sqlite"
    out = tmp_path / "hf"
    r = subprocess.run([sys.executable, "-m", "rooflens", "report", str(trace), "--model", "llama-3-8b",
                        "--layers", "2", "--batch", "4", "--input-len", "256", "--output-len", "8",
                        "--lang", "en", "--out", str(out)], capture_output=True, text=True, timeout=300)  # fmt: skip
    assert r.returncode == 0, r.stderr
    rep = json.loads((out / "report.json").read_text())
    assert rep["timeline"]["chosen_run"] == "Run[1]" and len(rep["timeline"]["runs"]) == 2
    phases = {k["phase"] for k in rep["timeline"]["kernels"]}
    assert phases == {"prefill"} | {f"decode[{k}]" for k in range(1, 8)}
    assert (
        rep["comparison"]["scope"]["decode_steps"] == 7
        and rep["comparison"]["scope"]["layer_count"] == 2
    )
    rows = {(o["name"], o["phase"]): o for o in rep["comparison"]["operators"]}
    for op in (
        "qkv_proj",
        "o_proj",
        "gate_up_proj",
        "down_proj",
        "attention",
        "lm_head",
        "attn_norm",
        "rope",
    ):
        for phase in ("prefill", "decode"):
            row = rows[(op, phase)]
            assert row["predicted_time_s"] > 0 and row["measured_time_s"] > 0, (op, phase)
    assert {k["source"] for k in rep["comparison"]["kernel_operators"]} <= {
        "name",
        "position",
        "name+position",
    }
    assert not rep["comparison"]["unmatched_kernels"]
