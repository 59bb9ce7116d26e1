"""A Hugging Face generate() program rooflens did not write, captured with ``rooflens profile --
python3 …`` (capture-time annotation), read by the unchanged timeline analysis and held to the
ground truth of the program's own module tree (tests/fixtures/h200_hf_*, foreign_truth.py).

Kernels are aligned by launch order within the last generate() call, after checking that both
captures launched the same kernel names in the same order.
"""

from __future__ import annotations

import sqlite3
import sys
from collections import Counter
from functools import cache
from pathlib import Path

import pytest

from rooflens.analysis.timeline import TimelineAnalysis, analyze_timeline
from rooflens.traces import load_timeline

sys.path.insert(0, str(Path(__file__).parent))  # tests/analysis is no package: the helper beside
from foreign_truth import FIXTURES, TruthKernel, truth_kernels  # noqa: E402

MODELS = ["llama", "qwen3moe"]
OUTPUT_LEN = 8


@cache
def annotated(model: str) -> TimelineAnalysis:
    return analyze_timeline(load_timeline(FIXTURES / f"h200_hf_{model}/annotated/timeline.sqlite"))


@cache
def truth(model: str) -> list[TruthKernel]:
    return truth_kernels(model)


@pytest.mark.parametrize("model", MODELS)
def test_chosen_run_is_the_last_generate_call_kernel_for_kernel(model: str) -> None:
    a, t = annotated(model), truth(model)
    assert a.chosen_run == "Run[1]"  # two generate() calls → Run[0], Run[1]
    assert [r.name for r in a.runs] == ["Run[0]", "Run[1]"]
    assert [k.name for k in a.kernels] == [k.name for k in t]


@pytest.mark.parametrize("model", MODELS)
def test_setup_kernels_are_outside_every_run(model: str) -> None:
    """Weight initialisation (launched before the first generate()'s Run[0] range) is in no run,
    and every kernel outside a run is one of those (counted with SQL)."""
    db = sqlite3.connect(FIXTURES / f"h200_hf_{model}/annotated/timeline.sqlite")
    total, before = db.execute(
        """SELECT COUNT(*), SUM(r.start < (SELECT MIN(start) FROM NVTX_EVENTS WHERE text = 'Run[0]'))
           FROM CUPTI_ACTIVITY_KIND_KERNEL k JOIN CUPTI_ACTIVITY_KIND_RUNTIME r
           ON r.correlationId = k.correlationId"""
    ).fetchone()
    assert before > 10
    assert total - sum(r.kernel_count for r in annotated(model).runs) == before


@pytest.mark.parametrize("model", MODELS)
def test_steps_and_phases_are_exact(model: str) -> None:
    a, t = annotated(model), truth(model)
    want = ["prefill"] + [f"decode[{k}]" for k in range(1, OUTPUT_LEN)]
    assert [p for p in dict.fromkeys(k.phase for k in t) if p] == want
    assert [p for p in dict.fromkeys(k.phase for k in a.kernels) if p] == want
    assert [k.phase for k in a.kernels] == [k.phase for k in t]


@pytest.mark.parametrize("model", MODELS)
def test_operator_right_for_95_percent_of_kernel_time(model: str) -> None:
    a, t = annotated(model), truth(model)
    total = sum(k.duration_s for k in t)
    right = sum(
        k.duration_s
        for k, x in zip(t, a.kernels, strict=True)
        if k.operator is not None and k.operator == x.operator
    )  # a kernel neither names (mask set-up in the model's own forward) does not count as right
    wrong = Counter(
        (k.operator, x.operator)
        for k, x in zip(t, a.kernels, strict=True)
        if k.operator != x.operator
    )
    assert right / total >= 0.95, wrong.most_common(5)


@pytest.mark.parametrize("model", MODELS)
def test_layer_right_wherever_an_operator_is(model: str) -> None:
    a, t = annotated(model), truth(model)
    pairs = [(k.layer, x.layer) for k, x in zip(t, a.kernels, strict=True) if x.operator]
    assert {x for _, x in pairs} == {None, 0, 1}  # two layers, plus embedding/lm_head/sampling
    assert all(tl == al for tl, al in pairs)
