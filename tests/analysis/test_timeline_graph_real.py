"""CUDA-graph decode on the real H200 capture: replayed kernels get the operators of eager decode.

Oracle: the eager capture of the same workload (h200_llama3_8b_decode16_eager), whose kernels
carry their operator ranges directly. Step by step, the graph run's replayed kernels must show
the same operator sequence as the eager run's — labels taken from the graph capture's own eager
warm-up run, never from the other capture.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from rooflens.analysis.timeline import analyze_timeline
from rooflens.traces import load_timeline

FIX = Path(__file__).parents[1] / "fixtures"


def _ops_by_step(folder: str) -> tuple[dict[str, list[str | None]], list[str]]:
    a = analyze_timeline(load_timeline(FIX / folder / "timeline.sqlite"))
    steps: dict[str, list[str | None]] = defaultdict(list)
    for k in a.kernels:
        if k.phase and k.phase.startswith("decode"):
            steps[k.phase].append(k.operator)
    return steps, a.warnings


def test_graph_replays_carry_the_eager_operator_sequence() -> None:
    graph, warnings = _ops_by_step("h200_llama3_8b_decode16_graph")
    eager, _ = _ops_by_step("h200_llama3_8b_decode16_eager")
    assert sorted(graph) == sorted(eager) == sorted(f"decode[{k}]" for k in range(1, 16))
    for step, ops in eager.items():
        assert graph[step] == ops, step
    assert any("replayed from CUDA graphs" in w for w in warnings)
    # Each decode step has its LM head, and only the sampling kernel stays outside an operator.
    for ops in graph.values():
        assert ops.count("lm_head") == 1 and ops.count(None) == 1
