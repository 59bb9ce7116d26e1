"""GEMM FLOPs as evidence (analysis/gemm_flops.py): hand-made comparison rows and prediction,
and the decode4 capture with its NVTX emptied plus its NCU counters."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from rooflens.analysis.gemm_flops import apply_flops_evidence, predicted_gemm_flops

H, KV, FF = 4096, 1024, 14336
T = 128  # prefill tokens
PRED = {
    "operators": [
        {"name": "qkv_proj", "phase": "prefill", "count": 2, "flops": 2 * 2.0 * T * H * (H + 2 * KV)},
        {"name": "gate_up_proj", "phase": "prefill", "count": 2, "flops": 2 * 2.0 * T * H * 2 * FF},
        {"name": "down_proj", "phase": "prefill", "count": 2, "flops": 2 * 2.0 * T * FF * H},
        {"name": "qkv_proj", "phase": "decode_first_token", "count": 2, "flops": 2 * 2.0 * H * (H + 2 * KV)},
        {"name": "attn_norm", "phase": "prefill", "count": 2, "flops": 1.0},
    ]
}  # fmt: skip


def row(
    op: str,
    flops: float | None,
    source: str = "name+position",
    phase: str = "prefill",
    layer: int = 0,
) -> dict:  # type: ignore[type-arg]
    return {
        "operator": op,
        "operator_source": source,
        "flops": flops,
        "phase": phase,
        "layer": layer,
    }


def test_predicted_flops_per_instance() -> None:
    want = predicted_gemm_flops(PRED)
    assert want[("qkv_proj", "prefill")] == 2.0 * T * H * (H + 2 * KV)
    assert want[("qkv_proj", "decode")] == 2.0 * H * (H + 2 * KV)
    assert ("attn_norm", "prefill") not in want


def test_separate_q_k_v_confirmed_together() -> None:
    rows = [
        row("q_proj", 2.0 * T * H * H),
        row("k_proj", 2.0 * T * H * KV),
        row("v_proj", 2.0 * T * H * KV),
    ]
    apply_flops_evidence(rows, PRED)
    assert [r["operator_source"] for r in rows] == ["name+position+flops"] * 3


def test_wrong_place_corrected_in_prefill_only() -> None:
    # Position said down_proj; 2·T·H·2I FLOPs is the gate_up weight.
    rows = [row("down_proj", 2.0 * T * H * 2 * FF)]
    apply_flops_evidence(rows, PRED)
    assert rows[0]["operator"] == "gate_up_proj" and rows[0]["operator_source"] == "flops"
    dec = [row("down_proj", 2.0 * T * H * 2 * FF, phase="decode[1]")]
    apply_flops_evidence(dec, PRED)
    assert dec[0]["operator"] == "down_proj" and dec[0]["operator_source"] == "name+position"


def test_nvtx_rows_and_missing_counters_untouched() -> None:
    rows = [
        row("qkv_proj", 2.0 * T * H * (H + 2 * KV), source="nvtx"),
        row("qkv_proj", None, layer=1),
    ]
    apply_flops_evidence(rows, PRED)
    assert [r["operator_source"] for r in rows] == ["nvtx", "name+position"]


def test_decode4_plain_with_ncu(tmp_path: Path, without_nvtx: Any) -> None:
    fix = Path(__file__).resolve().parents[1] / "fixtures" / "h200_llama3_8b_decode4"
    plain = without_nvtx(fix / "timeline.sqlite")
    out = tmp_path / "rep"
    r = subprocess.run([sys.executable, "-m", "rooflens", "report", str(plain), str(fix / "kernels.csv"),
                        "--model", "llama-3-8b", "--layers", "1", "--batch", "1", "--input-len", "128",
                        "--output-len", "4", "--lang", "en", "--out", str(out)],
                       capture_output=True, text=True, timeout=300)  # fmt: skip
    assert r.returncode == 0, r.stderr
    rep = json.loads((out / "report.json").read_text())
    kernels = {k["index"]: k for k in rep["timeline"]["kernels"]}
    confirmed = Counter(
        (k["operator"], kernels[k["index"]]["phase"])
        for k in rep["comparison"]["kernel_operators"]
        if k["source"].endswith("+flops")
    )
    # The four prefill projections (M = 128 tokens, no tile padding) are confirmed, down_proj with
    # its split-K reduction; the M = 1 GEMMs (decode, LM head) are counted with tile padding: not.
    want = {("qkv_proj", "prefill"): 1, ("o_proj", "prefill"): 1, ("gate_up_proj", "prefill"): 1,
            ("down_proj", "prefill"): 2}  # fmt: skip
    assert confirmed == Counter(want)
