"""The per-step / per-layer tables of a whole model and the tensor-parallel ranks table, rendered."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

import rooflens
from rooflens.report import RENDERERS
from rooflens.report.formats import f_time

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "h200_llama3_8b_32layers_o16"


@pytest.fixture(scope="module")
def doc() -> dict:
    return rooflens.analyze(FIX).doc


def _table(md: str, title: str) -> list[list[str]]:
    block = md.split(f"## {title}", 1)[1].split("\n## ", 1)[0]
    return [[c.strip() for c in line.strip("|").split("|")] for line in block.splitlines()
            if line.startswith("| ") and not line.startswith("| ---")][1:]  # fmt: skip


def test_steps_and_layers_tables(doc: dict) -> None:
    md = RENDERERS["md"].render(doc, "en")
    steps = _table(md, "Time per generation step (chosen run)")
    assert [r[1] for r in steps] == ["prefill"] + [f"decode[{k}]" for k in range(1, 16)]
    for row, src in zip(steps, doc["breakdown"]["steps"], strict=True):
        assert row[2] == str(src["kernel_count"]) and row[3] == f_time(src["measured_time_s"])
    layers = _table(md, "Time per layer (chosen run)")
    assert len(layers) == 25 and layers[12][0] == "…"  # 32 layers: first and last 12 shown
    assert [r[0] for r in layers if r[0] != "…"] == [str(i) for i in (*range(12), *range(20, 32))]
    assert "8 rows left out" in md
    zh = RENDERERS["md"].render(doc, "zh")
    assert "## 逐步时间 (所选运行)" in zh and "## 逐层时间 (所选运行)" in zh


def test_ranks_table_in_both_languages(doc: dict) -> None:
    d = copy.deepcopy(doc)
    row = {"gpu": "NVIDIA H200", "range_duration_s": 1e-3, "kernel_time_s": 5e-4, "bubble_ratio": 0.5,
           "communication_time_s": 1e-4, "exposed_communication_s": 1e-4}  # fmt: skip
    d["ranks"] = {
        "tp": 2, "collectives_matched": 3, "collectives_unmatched": 0,
        "ranks": [{**row, "rank": 0, "wait_s": 2e-5, "arrived_last": 0, "wait_caused_s": 0.0},
                  {**row, "rank": 1, "wait_s": 0.0, "arrived_last": 3, "wait_caused_s": 2e-5}],
        "bus_bandwidth": [{"phase": "decode", "message_bytes": 16384.0, "collectives": 3,
                           "median_bus_bandwidth_bps": 1e10, "max_bus_bandwidth_bps": 2e10}],
        "findings": [{"rule": "straggler", "subject": "rank 1", "value": 0.02}],
    }  # fmt: skip
    en = RENDERERS["md"].render(d, "en")
    rows = _table(en, "Tensor parallel: the ranks")
    assert rows[0][:3] == ["0", "`NVIDIA H200`", "1.00 ms"] and rows[1][-1] == "3"
    assert "rank 1 arrived last at 3 collectives; the other ranks waited 20.0 us in all" in en
    assert "| decode | 16.4 kB | 3 | 10.0 GB/s | 20.0 GB/s |" in en
    zh = RENDERERS["md"].render(d, "zh")
    assert "## 张量并行: 各 rank" in zh and "rank 1 最后到达 3 次集合通信" in zh
    assert "张量并行" in RENDERERS["html"].render(d, "zh")
