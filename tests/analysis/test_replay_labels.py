"""Operator labels for CUDA-graph replays, copied from an identical eager step (synthetic edge cases).

The real capture (tests/fixtures/h200_llama3_8b_decode16_graph) is checked in test_timeline_graph_real.py.
"""

from __future__ import annotations

from rooflens.analysis.replay_labels import label_replays, needs_labels
from rooflens.analysis.timeline import TimelineKernel


def k(i: int, short: str, path: list[str], op: str | None, layer: int | None = 0) -> TimelineKernel:
    phase = next((p for p in path if p.startswith(("prefill", "decode"))), None)
    return TimelineKernel(index=i, name=short, short_name=short, start_s=i * 1e-5, duration_s=1e-6, share=0.0,
                          grid=(1, 1, 1), block=(1, 1, 1), registers_per_thread=32, stream=7, operator=op,
                          phase=phase, layer=layer, nvtx=path)  # fmt: skip


EAGER = [
    k(0, "gemm_a", ["Run[0]", "decode[1]", "Layer[0]#Run[0]", "qkv_proj"], "qkv_proj"),
    k(1, "sdpa", ["Run[0]", "decode[1]", "Layer[0]#Run[0]", "attention"], "attention"),
    k(2, "gemm_b", ["Run[0]", "decode[1]", "lm_head"], "lm_head", None),
    k(3, "argmax", ["Run[0]", "decode[1]", "sample"], None, None),  # sampling: no operator
    k(4, "gemm_a", ["Run[0]", "decode[2]", "Layer[0]#Run[0]", "qkv_proj"], "qkv_proj"),
    k(5, "sdpa_long", ["Run[0]", "decode[2]", "Layer[0]#Run[0]", "attention"], "attention"),
    k(6, "gemm_b", ["Run[0]", "decode[2]", "lm_head"], "lm_head", None),
]


def replay(run: int, step: int, names: list[str], start: int) -> list[TimelineKernel]:
    path = [f"Run[{run}]", f"decode[{step}]", "graph"]
    return [k(start + i, n, path, None, None) for i, n in enumerate(names)]


def test_replayed_steps_take_the_labels_of_the_same_eager_step() -> None:
    chosen = replay(1, 1, ["gemm_a", "sdpa", "gemm_b", "argmax"], 10)
    chosen += replay(1, 2, ["gemm_a", "sdpa_long", "gemm_b"], 14)
    assert needs_labels(chosen)
    out, n = label_replays(chosen, EAGER + chosen)
    assert n == 7
    assert [x.operator for x in out] == [
        "qkv_proj", "attention", "lm_head", None, "qkv_proj", "attention", "lm_head",
    ]  # fmt: skip
    assert [x.layer for x in out] == [0, 0, None, None, 0, 0, None]
    assert out[0].nvtx == ["Run[1]", "decode[1]", "graph", "Layer[0]#Run[0]", "qkv_proj"]
    assert out[3].nvtx[-1] == "sample"


def test_a_step_whose_sequence_differs_stays_unlabelled() -> None:
    # decode[2] replayed with decode[1]'s kernels: the names match another step, not this one.
    odd = replay(1, 2, ["gemm_a", "sdpa", "gemm_b", "argmax"], 20)
    out, n = label_replays(odd, EAGER + odd)
    assert n == 0 and all(x.operator is None for x in out)
    extra = replay(1, 1, ["gemm_a", "sdpa", "copy", "gemm_b", "argmax"], 30)  # one kernel more
    out, n = label_replays(extra, EAGER + extra)
    assert n == 0


def test_eager_runs_need_nothing() -> None:
    assert not needs_labels(EAGER)  # the sampling kernel alone does not make a step unlabelled
    out, n = label_replays(EAGER, EAGER)
    assert n == 0 and out == EAGER
