"""Which launches Nsight Compute profiles: a representative sample of a whole-model run.

ncu costs about 0.6 s per profiled kernel on the H200 (replays, counter passes), so one pass over
every kernel of a 32-layer, 64-token run (~30,000 kernels) takes hours.  Kernels repeat: every
layer launches the same kernels with the same shapes, and every decode step the same ones with
one sequence-position more of KV cache.  So ncu profiles one launch per distinct kernel and
step class — the prefill and a few decode steps (the first, the last, and evenly spaced ones
between, so that the KV-length dependence of attention can be interpolated), in the first and
the last layer, plus the per-model operators (embedding, final norm, LM head, sampling) of
those steps — and the analysis propagates counters to identical launches
(:mod:`rooflens.analysis.counters`).  The cost is then independent of depth and generation
length: ≤ (1 + ``DECODE_SAMPLES``) steps × (2 layers + head) kernels.

``check`` mode adds the second layer (and a second decode step) on purpose: their counters,
measured, are compared with what propagation from the first layer predicts (tests, docs).
"""

from __future__ import annotations

#: Decode steps profiled at most (first, last and evenly spaced between).
DECODE_SAMPLES = 4


def sample_steps(output_len: int, *, check: bool = False) -> list[int]:
    """Generation steps to profile: 0 (prefill) and up to :data:`DECODE_SAMPLES` decode steps.

    Decode steps run 1 … output_len − 1; the first and the last are always in, so KV-length
    scaling interpolates and never extrapolates.  ``check`` adds step 2 (an identical-shape
    neighbour of step 1 for the propagation check).
    """
    last = output_len - 1
    steps = {0}
    if last >= 1:
        n = min(DECODE_SAMPLES, last)
        steps |= {1 + round(i * (last - 1) / (n - 1)) for i in range(n)} if n > 1 else {1}
        if check and last >= 2:
            steps.add(2)
    return sorted(steps)


def sample_layers(layers: int, *, check: bool = False) -> list[int]:
    """Layers to profile: the first and the last (and the second with ``check``)."""
    chosen = {0, layers - 1}
    if check and layers > 1:
        chosen.add(1)
    return sorted(x for x in chosen if 0 <= x < layers)


def profiled_kernel_estimate(kernels_per_layer: int, head_kernels: int, output_len: int, layers: int,
                             check: bool = False) -> int:  # fmt: skip
    """Upper bound on the kernels ncu profiles for a sampled run (for progress messages)."""
    steps = len(sample_steps(output_len, check=check))
    return steps * (len(sample_layers(layers, check=check)) * kernels_per_layer + head_kernels)
