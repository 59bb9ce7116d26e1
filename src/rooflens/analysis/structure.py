"""Structure of a kernel stream with no usable NVTX: runs, steps, phases, layers and operators.

A plain ``nsys profile`` of someone's program gives kernels and nothing else.  The structure is
still in the stream, because a transformer repeats itself:

* **Layers.**  Every decoder layer calls attention once, so the attention kernels (named:
  :mod:`rooflens.analysis.operators`) are anchors; consecutive attention kernels with no GEMM
  between them are one call.  The layer boundary sits in front of the layer's input norm, which
  is the same kernel sequence as the post-attention norm found between ``o_proj`` (the first GEMM
  after attention) and the next GEMM (:func:`_layer_starts`).
* **Steps.**  One model forward = the layers between two sampling points: a gap between two
  attention calls that holds a sampling kernel (``argmax``, FlashInfer sampling), else an
  embedding lookup, else more GEMMs than the usual inter-layer gap, is a step boundary.
* **Phases.**  A prefill step processes many tokens per sequence, a decode step one: its
  elementwise and norm kernels launch far more thread blocks.  Steps whose median blocks per
  kernel is well above the smallest step's are prefills (the median, not the sum: a decode-time
  expert-weight gather is as large as in prefill); a run is a prefill and its decode steps.
* **Set-up** (weight initialisation, warm-up forwards) is whatever lies before the first step or
  between runs; the chosen run is the last complete one (most steps).

Everything is a pure function over arrays in launch order (names as interned ids, start/end in
seconds, grids); per-kernel work is vectorised or one pass, so a 30,000-kernel stream takes a
fraction of a second.  Operators inside a layer come from :mod:`rooflens.analysis.layer_ops`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from rooflens.analysis import layer_ops
from rooflens.analysis.kernel_stream import Classes, Labels, classify
from rooflens.vocab import phase_range

#: A step is a prefill when its median thread blocks per kernel is at least this many times the
#: smallest step's (a decode step of the same batch).  Prefill of even 8 tokens per sequence is
#: ~8x; batch noise between decode steps (attention split-KV grids) stays well under 2x.
PREFILL_BLOCK_RATIO = 2.5


@dataclass
class Step:
    """One model forward: kernel rows [first, end), its layers' starts, its phase label."""

    first: int
    end: int
    layer_starts: list[int]
    layers_end: int
    phase: str = "prefill"
    blocks: float = 0.0


@dataclass
class InferredRun:
    """A prefill followed by its decode steps (one ``generate()`` call)."""

    steps: list[Step]
    #: False for a run of decode-like steps with no prefill in front (a CUDA-graph capture
    #: warm-up, a capture that began mid-generation): its steps are decode[1], decode[2], ….
    has_prefill: bool = True

    @property
    def first(self) -> int:
        return self.steps[0].first

    @property
    def end(self) -> int:
        return self.steps[-1].end


@dataclass
class Structure:
    """Labels per kernel (launch order) and the runs found; -1 / None where a kernel has none."""

    run: np.ndarray
    step: np.ndarray
    layer: np.ndarray
    phase: list[str | None]
    operator: list[str | None]
    evidence: list[str | None]
    confidence: np.ndarray
    runs: list[InferredRun]
    chosen: int | None
    layer_count: int
    notes: list[str] = field(default_factory=list)

    @property
    def setup_kernels(self) -> int:
        """Kernels before the first step (initialisation, warm-up that is not a forward)."""
        return self.runs[0].first if self.runs else int(self.run.size)


def infer_structure(
    name_ids: np.ndarray,
    strings: Sequence[str],
    start_s: np.ndarray,
    end_s: np.ndarray,
    grid: np.ndarray,
) -> Structure:
    """Runs, steps, phases, layers and operators of a kernel stream in launch order.

    ``name_ids`` index ``strings`` (kernel names); ``start_s``/``end_s`` are GPU times in
    seconds (for the notes); ``grid`` is ``(n, 3)`` thread-block counts.
    """
    n = int(name_ids.size)
    c = classify(name_ids, strings, grid)
    labels = Labels.empty(n)
    run_of, step_of, layer_of = np.full(n, -1), np.full(n, -1), np.full(n, -1)
    phase: list[str | None] = [None] * n
    calls = _attention_calls(c)
    if not calls:
        out = Structure(run_of, step_of, layer_of, phase, labels.operator, labels.evidence,
                        labels.confidence, [], None, 0)  # fmt: skip
        out.notes.append("no attention kernel named in the stream: no layers or steps inferred")
        return out
    steps = _steps(c, calls, _layer_starts(c, calls), n)
    blocks = np.prod(np.maximum(grid, 1), axis=1).astype(np.float64)
    for st in steps:
        st.blocks = float(np.median(blocks[st.layer_starts[0] : st.layers_end]))
    runs = _runs(c, steps)
    for r, run in enumerate(runs):
        for s, st in enumerate(run.steps):
            st.phase = phase_range(s if run.has_prefill else s + 1)
            run_of[st.first : st.end], step_of[st.first : st.end] = r, s
            phase[st.first : st.end] = [st.phase] * (st.end - st.first)
            bounds = [*st.layer_starts, st.layers_end]
            for i in range(len(st.layer_starts)):
                layer_of[bounds[i] : bounds[i + 1]] = i
            layer_ops.label_step(c, st.first, st.layer_starts, st.layers_end, st.end, labels)
    labels.finish(c)
    layer_count = max(len(st.layer_starts) for st in steps)
    out = Structure(run_of, step_of, layer_of, phase, labels.operator, labels.evidence,
                    labels.confidence, runs, _choose(runs), layer_count)  # fmt: skip
    out.notes.extend(_notes(out, start_s, end_s))
    return out


def _attention_calls(c: Classes) -> list[tuple[int, int]]:
    """(first, last) row of each attention call: attention kernels with no GEMM between them."""
    att = np.flatnonzero(c.is_attention)
    if not att.size:
        return []
    gemm_before = c._cum["gemm"][att + 1]
    split = np.flatnonzero(np.diff(gemm_before) > 0) + 1
    return [(int(g[0]), int(g[-1])) for g in np.split(att, split)]


def _layer_starts(c: Classes, calls: list[tuple[int, int]]) -> list[int]:
    """First row of the layer around each attention call (its input norm)."""
    out = []
    for k, (first, last) in enumerate(calls):
        lo = calls[k - 1][1] + 1 if k else 0
        hi = calls[k + 1][0] if k + 1 < len(calls) else c.n
        out.append(_start_before(c, lo, first, layer_ops.post_norm(c, last, hi)))
    return out


#: GEMMs a layer may run before attention (q, k, v and a spare for LoRA / MLA down-projections).
MAX_PRE_ATTENTION_GEMMS = 4


def _start_before(c: Classes, lo: int, first: int, post: tuple[np.ndarray, int]) -> int:
    """Layer start for the attention call at row ``first``, searching back no further than ``lo``.

    Walks back over the non-GEMM runs in front of GEMMs: the first run that ends with the norm
    part of ``post`` (this layer's post-attention norm: the same module class) starts the layer
    where that norm starts; else the first run holding a norm kernel by name, from that kernel;
    else, at an embedding / sampling kernel or after a few GEMMs, the GEMMs closest to the call.
    """
    seq, residual = post
    norm = seq[residual:]
    end, hops = first, 0
    while end > lo:
        g = c.prev_gemm(end - 1, lo)
        run_lo = lo if g < 0 else c.gemm_end(g)
        if end < first:
            if (
                norm.size
                and end - run_lo >= norm.size
                and np.array_equal(c.tokens[end - norm.size : end], norm)
            ):
                return end - norm.size
            k = c.last_of("norm", run_lo, end)
            if k >= 0:
                while k > run_lo and c.cls[k - 1] == "norm":
                    k -= 1
                return k
            stop = c.count("sampling", run_lo, end) + c.count("embedding", run_lo, end)
            if stop or g < 0 or hops >= MAX_PRE_ATTENTION_GEMMS:
                return end
        if g < 0:
            return end
        end, hops = c.gemm_start(g), hops + 1
    return end


def _steps(c: Classes, calls: list[tuple[int, int]], starts: list[int], n: int) -> list[Step]:
    """Group layers into steps at the gaps that hold a step boundary (module docstring)."""
    gaps = [(calls[i][1] + 1, starts[i + 1]) for i in range(len(calls) - 1)]
    boundary = _boundaries(c, gaps)
    groups: list[list[int]] = [[0]]
    for i, is_b in enumerate(boundary):
        if is_b:
            groups.append([])
        groups[-1].append(i + 1)
    steps = []
    for g in groups:
        layer_starts = [starts[i] for i in g]
        lo = calls[g[0] - 1][1] + 1 if g[0] > 0 else 0
        hi = calls[g[-1] + 1][0] if g[-1] + 1 < len(calls) else n
        first = layer_ops.step_start(c, lo, layer_starts[0])
        layers_end = layer_ops.last_layer_end(c, calls[g[-1]][1], hi)
        steps.append(Step(first, hi, layer_starts, layers_end))
    for a, b in zip(steps, steps[1:], strict=False):
        a.end = b.first
    steps[-1].end = n
    return steps


def _boundaries(c: Classes, gaps: list[tuple[int, int]]) -> list[bool]:
    """Which inter-attention gaps end a step: sampling there, else an embedding, else more GEMMs."""
    if not gaps:
        return []
    for what in ("sampling", "embedding"):
        found = [c.count(what, a, b) > 0 for a, b in gaps]
        if any(found):
            return found
    gemms = np.array([c.count("gemm", a, b) for a, b in gaps])
    mode = int(np.bincount(gemms).argmax())
    return [bool(x > mode) for x in gemms]


def _runs(c: Classes, steps: list[Step]) -> list[InferredRun]:
    """Split steps into runs: a run starts at each prefill (many more blocks than the smallest)."""
    if not steps:
        return []
    blocks = np.array([max(s.blocks, 1.0) for s in steps])
    # Reference: a low quantile, not the minimum — a compile/autotune pass or a capture warm-up
    # may run odd tiny steps; decode steps are most of a run.
    prefill = blocks >= PREFILL_BLOCK_RATIO * float(np.percentile(blocks, 25))
    if not prefill.any():  # all steps alike: each is a run of one step
        prefill[:] = True
    runs: list[InferredRun] = []
    for st, is_p in zip(steps, prefill.tolist(), strict=True):
        if is_p or not runs:
            runs.append(InferredRun([st], has_prefill=bool(is_p)))
        else:
            runs[-1].steps.append(st)
    for k, run in enumerate(runs):
        nxt = runs[k + 1].first if k + 1 < len(runs) else c.n
        before = run.steps[-2] if len(run.steps) > 1 else runs[k - 1].steps[-1] if k else None
        prev = (before.layers_end, before.end) if before else None
        if prev is None and k + 1 < len(runs):
            continue  # a one-step first run: its step ends where the next run starts
        run.steps[-1].end = layer_ops.trailing_end(c, run.steps[-1].layers_end, prev, nxt)
    return runs


def _choose(runs: list[InferredRun]) -> int | None:
    """The last run with the most steps (the last complete ``generate()`` call); runs with a
    prefill first."""
    if not runs:
        return None
    pool = [i for i, r in enumerate(runs) if r.has_prefill] or list(range(len(runs)))
    most = max(len(runs[i].steps) for i in pool)
    return max(i for i in pool if len(runs[i].steps) == most)


def _notes(s: Structure, start_s: np.ndarray, end_s: np.ndarray) -> list[str]:
    """One line per fact a reader of the report should know about the inference."""
    if s.chosen is None:
        return []
    run = s.runs[s.chosen]
    setup_s = float(np.sum(end_s[: s.setup_kernels] - start_s[: s.setup_kernels]))
    return [
        f"structure inferred from the kernel stream (no NVTX): {len(s.runs)} run(s), chosen run "
        f"{s.chosen} = prefill + {len(run.steps) - 1} decode step(s), {s.layer_count} layer(s); "
        f"{s.setup_kernels} set-up kernel(s) ({setup_s * 1e3:.3g} ms) before the first step"
    ]
