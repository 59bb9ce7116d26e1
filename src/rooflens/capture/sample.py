"""Which launches Nsight Compute profiles: a representative sample of a whole-model run.

ncu costs about 0.6 s per profiled kernel on the H200 (replays, counter passes), so one pass over
every kernel of a 32-layer, 64-token run (~30,000 kernels) takes hours.  Kernels repeat: every
layer launches the same kernels with the same shapes, and every decode step the same ones with
one position more of KV cache.  So ncu profiles the prefill and the first and last decode steps
(the KV-length dependence of attention is interpolated between them: its bytes grow linearly
with the KV length) of the first layer, plus the per-model operators (embedding, final norm, LM
head, sampling) of those steps, and the analysis propagates counters to identical launches
(:mod:`rooflens.analysis.counters`).  The cost is then independent of depth and generation
length: 3 steps × (1 layer + head) kernels, about 100 for an eager Llama-3-8B layer.

``check`` mode adds, on purpose, launches whose counters propagation also predicts — the second
and the last layer, decode step 2 and the middle step — so the measured values can be compared
with the propagated ones (tests, docs/capture.md).
"""

from __future__ import annotations


def sample_steps(output_len: int, *, check: bool = False) -> list[int]:
    """Generation steps to profile: 0 (prefill), the first and the last decode step.

    Decode steps run 1 … output_len − 1; with the first and the last measured, KV-length scaling
    interpolates and never extrapolates.  ``check`` adds step 2 and the middle step.
    """
    last = output_len - 1
    steps = {0}
    if last >= 1:
        steps |= {1, last}
        if check:
            steps |= {min(2, last), (1 + last) // 2}
    return sorted(steps)


def sample_layers(layers: int, *, check: bool = False) -> list[int]:
    """Layers to profile: the first (with ``check`` also the second and the last)."""
    chosen = {0, 1, layers - 1} if check else {0}
    return sorted(x for x in chosen if 0 <= x < layers)
