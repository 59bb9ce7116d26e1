"""A Hugging Face generate() whose decode steps are compiled and replayed from CUDA graphs
(static KV cache; tests/fixtures/h200_hf_llama_static): runs and steps still come from the
annotation, and every graph-replayed kernel sits in a decode step (counted with SQL)."""

from __future__ import annotations

import gzip
import sqlite3
from pathlib import Path

from rooflens.analysis.timeline import analyze_timeline
from rooflens.traces import load_timeline

SQLITE = (
    Path(__file__).resolve().parents[1] / "fixtures/h200_hf_llama_static/annotated/timeline.sqlite.gz"
)


def test_graph_replays_sit_in_their_decode_steps(tmp_path: Path) -> None:
    a = analyze_timeline(load_timeline(SQLITE))
    assert a.chosen_run == "Run[1]"  # Run[0] holds the compilation
    phases = [p for p in dict.fromkeys(k.phase for k in a.kernels) if p]
    assert phases == ["prefill"] + [f"decode[{k}]" for k in range(1, 8)]
    plain = tmp_path / "timeline.sqlite"  # the export is stored gzip-compressed
    plain.write_bytes(gzip.decompress(SQLITE.read_bytes()))
    db = sqlite3.connect(plain)
    run = db.execute("SELECT start, end FROM NVTX_EVENTS WHERE text = 'Run[1]'").fetchone()
    graph_in = """SELECT COUNT(*) FROM CUPTI_ACTIVITY_KIND_KERNEL k
        JOIN CUPTI_ACTIVITY_KIND_RUNTIME r ON r.correlationId = k.correlationId
        WHERE k.graphNodeId IS NOT NULL AND r.start BETWEEN ? AND ?"""
    (in_run,) = db.execute(graph_in, run).fetchone()
    decode = db.execute(
        "SELECT start, end FROM NVTX_EVENTS WHERE text LIKE 'decode[%' AND start BETWEEN ? AND ?",
        run,
    ).fetchall()
    assert len(decode) == 7
    assert in_run > 0
    assert sum(db.execute(graph_in, d).fetchone()[0] for d in decode) == in_run
    replayed = sum(1 for k in a.kernels if k.phase and k.phase.startswith("decode"))
    assert replayed >= in_run
