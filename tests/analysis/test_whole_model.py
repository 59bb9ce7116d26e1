"""A whole-model capture (NVIDIA H200): Llama-3-8B shape, all 32 layers, 16 output tokens, made
with ``rooflens run --layers 32 --output-len 16 --runs 2`` (scripts/gpu_whole_model.sh) and trimmed
to its chosen run (scripts/trim_capture.py).  ncu profiled the ``ncu#Run[1]`` sample only."""

from __future__ import annotations

import gzip
import json
import sqlite3
from collections import Counter
from pathlib import Path

import pytest

import rooflens

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "h200_llama3_8b_32layers_o16"


@pytest.fixture(scope="module")
def doc() -> dict:
    return rooflens.analyze(FIX).doc


def test_manifest_says_what_was_kept() -> None:
    m = json.loads((FIX / "manifest.json").read_text())
    assert m["settings"]["layers"] == 32 and m["settings"]["output_len"] == 16
    assert m["settings"]["ncu_nvtx_run"] == r"^ncu#Run\[1\]$"
    assert m["trimmed"]["kept_run"] == "Run[1]"
    assert "kernels.ncu-rep" in m["trimmed"]["files_removed"]


def test_every_kernel_has_counters_and_says_where_from(doc: dict, tmp_path: Path) -> None:
    plain = tmp_path / "timeline.sqlite"  # the export is stored gzip-compressed
    plain.write_bytes(gzip.decompress((FIX / "timeline.sqlite.gz").read_bytes()))
    con = sqlite3.connect(plain)
    (n_sql,) = con.execute("SELECT COUNT(*) FROM CUPTI_ACTIVITY_KIND_KERNEL").fetchone()
    timeline = doc["timeline"]["kernels"]
    assert len(timeline) == n_sql  # the trimmed file holds the chosen run only
    counts = Counter(k["counters"] for k in doc["kernels"])
    with open(FIX / "kernels.csv", encoding="utf-8") as f:
        profiled = sum(1 for line in f if line.startswith('"') and line[1:2].isdigit())
    assert counts["measured"] == profiled
    assert profiled < 100 < len(timeline) / 100  # under 1% of the launches were profiled
    assert sum(counts.values()) == len(timeline)
    assert {k["timeline_index"] for k in doc["kernels"]} == set(range(len(timeline)))
    # Only decode attention changes with the KV length: nothing else is scaled.
    for k in doc["kernels"]:
        if k["counters"] == "scaled":
            tk = timeline[k["timeline_index"]]
            assert tk["operator"] == "attention" and tk["phase"].startswith("decode")


def test_propagated_gemm_bytes_read_the_weights(doc: dict) -> None:
    """A decode GEMM reads its weight once per step: 32 layers × 15 steps of q/k/v, each
    ≥ 2 · 4096 · 6144 bytes (fp16), whatever layer and step ncu measured it in."""
    ops = {(o["name"], o["phase"]): o for o in doc["comparison"]["operators"]}
    qkv = ops[("qkv_proj", "decode")]
    weights = 32 * 15 * 2 * 4096 * (4096 + 2 * 1024)
    assert weights <= qkv["measured_bytes"] <= 1.1 * weights


def test_report_stays_short_and_has_per_step_and_layer_figures(tmp_path: Path, doc: dict) -> None:
    steps, layers = doc["breakdown"]["steps"], doc["breakdown"]["layers"]
    assert len(steps) == 16 and [r["layer"] for r in layers] == list(range(32))
    from rooflens.report import RENDERERS

    md = RENDERERS["md"].render(doc, "en")
    assert len(md.splitlines()) <= 800


def test_report_reproduces_the_committed_report(monkeypatch: pytest.MonkeyPatch) -> None:
    """``rooflens report tests/fixtures/h200_llama3_8b_32layers_o16 --lang en`` (from the repository
    root) gives the committed report-en/report.md; regenerate that file when the format changes."""
    from rooflens.report.markdown import MarkdownRenderer

    root = FIX.parents[2]
    monkeypatch.chdir(root)  # the report records its inputs as given: repo-relative
    doc = rooflens.analyze(FIX.relative_to(root)).doc
    committed = (FIX / "report-en" / "report.md").read_text(encoding="utf-8")
    fresh = MarkdownRenderer(with_charts=True).render(doc, "en")

    def body(text: str) -> list[str]:  # the generation time is the one line that differs
        return [ln for ln in text.splitlines() if not ln.startswith("- Generated at")]

    assert body(fresh) == body(committed)
