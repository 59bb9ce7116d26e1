"""The built-in workload's argmax range (``sample`` in captures made so far) joins the predicted
``sampling`` operator: measured time = the kernels launched inside those ranges (SQL)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from rooflens.analysis.assemble import build_report
from rooflens.pipeline import analyse_inputs

RUN = Path(__file__).resolve().parents[1] / "fixtures/h200_llama3_8b_decode4"


def test_sample_range_is_the_sampling_operator() -> None:
    doc = build_report(**analyse_inputs([RUN], {}, None, None)).to_dict()
    db = sqlite3.connect(RUN / "timeline.sqlite")
    run = db.execute("SELECT start, end FROM NVTX_EVENTS WHERE text = 'Run[2]'").fetchone()
    for phase, like in (("prefill", "prefill"), ("decode", "decode[%")):
        ((ns,),) = db.execute(
            """SELECT SUM(k.end - k.start) FROM CUPTI_ACTIVITY_KIND_KERNEL k
               JOIN CUPTI_ACTIVITY_KIND_RUNTIME r ON r.correlationId = k.correlationId
               JOIN NVTX_EVENTS s ON s.text = 'sample' AND r.start BETWEEN s.start AND s.end
               JOIN NVTX_EVENTS p ON p.text LIKE ? AND s.start BETWEEN p.start AND p.end
               WHERE p.start BETWEEN ? AND ?""",
            (like, *run),
        ).fetchall()
        row = next(
            o
            for o in doc["comparison"]["operators"]
            if o["name"] == "sampling" and o["phase"] == phase
        )
        assert row["predicted_time_s"] > 0
        assert row["measured_time_s"] == pytest.approx(ns * 1e-9)
