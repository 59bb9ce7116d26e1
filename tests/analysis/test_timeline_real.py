"""Timeline analysis of the real H200 captures; expected figures from SQL and loops written here."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from rooflens.analysis.kernels import analyze_kernels
from rooflens.analysis.timeline import analyze_timeline
from rooflens.traces import load_ncu, load_timeline

FIX = Path(__file__).resolve().parents[1] / "fixtures"
PREFILL = FIX / "h200_llama3_8b_prefill"
pytestmark = pytest.mark.skipif(not PREFILL.exists(), reason="real fixtures not present")

# Projection written in SQL: the launch call (same process, same correlation id) starts inside
# the push/pop range on the same thread.
RUN_KERNELS = """
SELECT k.start, k.end, r.start FROM CUPTI_ACTIVITY_KIND_KERNEL k
JOIN CUPTI_ACTIVITY_KIND_RUNTIME r
  ON r.correlationId = k.correlationId AND r.globalTid / 16777216 = k.globalPid / 16777216
JOIN NVTX_EVENTS n ON n.globalTid = r.globalTid AND n.eventType = 59 AND r.start BETWEEN n.start AND n.end
WHERE n.text = ?
"""


def _sweep(rows: list[tuple[float, float, float]]) -> tuple[float, float, float]:
    """(busy, host-bound gap, other gap) by walking kernels in start order."""
    rows = sorted(rows)
    busy = host = other = 0.0
    cur_s, cur_e = rows[0][0], rows[0][1]
    for s, e, launch in rows[1:]:
        if s > cur_e:
            busy += cur_e - cur_s
            if launch >= cur_e:
                host += s - cur_e
            else:
                other += s - cur_e
            cur_s, cur_e = s, e
        else:
            cur_e = max(cur_e, e)
    return busy + cur_e - cur_s, host, other


@pytest.mark.parametrize("folder", ["prefill", "decode16_eager", "decode16_graph"])
def test_every_run_matches_sql_projection(folder: str) -> None:
    path = FIX / f"h200_llama3_8b_{folder}" / "timeline.sqlite"
    a = analyze_timeline(load_timeline(path))
    a.self_check()
    assert [r.name for r in a.runs] == ["Run[0]", "Run[1]", "Run[2]"] and a.chosen_run == "Run[2]"
    con = sqlite3.connect(path)
    for run in a.runs:
        rows = [
            (s * 1e-9, e * 1e-9, ls * 1e-9) for s, e, ls in con.execute(RUN_KERNELS, (run.name,))
        ]
        ((rs, re_),) = con.execute(
            "SELECT start * 1e-9, end * 1e-9 FROM NVTX_EVENTS WHERE text = ?", (run.name,)
        )
        busy, host, other = _sweep(rows)
        window = max(re_, max(e for _, e, _ in rows)) - min(rs, min(s for s, _, _ in rows))
        assert run.kernel_count == len(rows)
        assert run.kernel_time_s == pytest.approx(sum(e - s for s, e, _ in rows), rel=1e-9)
        assert run.range_duration_s == pytest.approx(re_ - rs, rel=1e-9)
        assert run.gpu_busy_s == pytest.approx(busy, rel=1e-9)
        assert run.bubble_ratio == pytest.approx(1 - busy / window, rel=1e-9)
        assert run.host_bound_gap_s == pytest.approx(host, rel=1e-6, abs=1e-12)
        assert run.other_gap_s == pytest.approx(other, rel=1e-6, abs=1e-12)
    con.close()


def test_prefill_kernels_are_labelled_by_operator() -> None:
    a = analyze_timeline(load_timeline(PREFILL / "timeline.sqlite"))
    ops = [k.operator for k in a.kernels]
    # the built-in workload's order (capture/workload.py): embedding first, lm_head near the end
    assert ops[0] == "embedding" and "lm_head" in ops
    for op in (
        "attn_norm",
        "qkv_proj",
        "rope",
        "attention",
        "o_proj",
        "gate_up_proj",
        "act",
        "down_proj",
    ):
        assert op in ops
    assert {k.phase for k in a.kernels} == {"prefill"}
    assert {k.layer for k in a.kernels if k.operator == "qkv_proj"} == {0}


def test_decode_phases_are_counted_per_step() -> None:
    path = FIX / "h200_llama3_8b_decode16_eager" / "timeline.sqlite"
    a = analyze_timeline(load_timeline(path))
    phases = [k.phase for k in a.kernels]
    assert phases.count("prefill") + sum(phases.count(f"decode[{i}]") for i in range(1, 16)) == len(
        phases
    )
    con = sqlite3.connect(path)
    # decode[3] of Run[2]: kernels whose launch is inside the decode[3] range that lies inside Run[2]
    ((n,),) = con.execute(
        "SELECT COUNT(*) FROM CUPTI_ACTIVITY_KIND_KERNEL k JOIN CUPTI_ACTIVITY_KIND_RUNTIME r "
        "ON r.correlationId = k.correlationId JOIN NVTX_EVENTS d ON d.globalTid = r.globalTid "
        "AND d.text = 'decode[3]' AND r.start BETWEEN d.start AND d.end JOIN NVTX_EVENTS run "
        "ON run.text = 'Run[2]' AND d.start BETWEEN run.start AND run.end"
    ).fetchall()
    con.close()
    assert phases.count("decode[3]") == n


def _kineto_run2(doc: dict) -> list[dict]:  # type: ignore[type-arg]
    """Kernels of Run[2] by a plain loop: launch (same correlation) inside Run[2] on its thread."""
    ev = doc["traceEvents"]
    run = next(e for e in ev if e.get("cat") == "user_annotation" and e["name"] == "Run[2]")
    launches = {
        e["args"]["correlation"]: e for e in ev if e.get("cat") in ("cuda_runtime", "cuda_driver")
    }
    out = []
    for k in (e for e in ev if e.get("cat") == "kernel"):
        la = launches.get(k["args"]["correlation"])
        if la and la["tid"] == run["tid"] and run["ts"] <= la["ts"] <= run["ts"] + run["dur"]:
            out.append(k)
    return out


def test_kineto_run_matches_a_plain_loop() -> None:
    doc = json.loads((PREFILL / "trace.json").read_text())
    want = _kineto_run2(doc)
    a = analyze_timeline(load_timeline(PREFILL / "trace.json"))
    assert a.chosen.kernel_count == len(want) == 28
    assert a.chosen.kernel_time_s == pytest.approx(sum(k["dur"] for k in want) * 1e-6, rel=1e-9)


def test_ncu_kernels_join_the_nsys_run_by_order_and_name() -> None:
    timeline = analyze_timeline(load_timeline(PREFILL / "timeline.sqlite"))
    ka = analyze_kernels(load_ncu(PREFILL / "kernels.csv"), timeline, None)
    assert ka.unmatched == 0 and len(ka.kernels) == 28
    assert [k.timeline_index for k in ka.kernels] == list(
        range(28)
    )  # ncu saw the same 28, in order
    assert [k.duration_s for k in ka.kernels] == [k.duration_s for k in timeline.kernels]
    gemm = next(k for k in ka.kernels if k.operator == "qkv_proj" and k.flops)
    # qkv_proj of Llama-3-8B on 128 tokens: 2 * 128 * 4096 * (4096 + 2 * 1024) FLOP on tensor cores
    assert gemm.flops == pytest.approx(2 * 128 * 4096 * 6144, rel=1e-3)
