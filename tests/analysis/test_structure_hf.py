"""Structure inference on real Hugging Face ``generate()`` captures with no NVTX (H200).

``tests/fixtures/h200_hf_{llama,qwen3moe}/plain.sqlite`` were captured with no NVTX at all;
``truth.sqlite`` is the same program with ranges named by its own module tree (``M:<path>``,
``F:<function>``, ``STEP`` per forward, ``GENERATE`` per call).  The two processes launch the
same kernels in the same order (checked below), so kernel *i* of one is kernel *i* of the other.

The truth operator of a kernel is read from its module path here, by hand rules independent of
rooflens's tables (``q_proj`` → ``q_proj``, ``mlp.act_fn`` → ``act``, ``F:apply_rotary_pos_emb``
→ ``rope`` …; a kernel of the decoder layer itself after ``self_attn`` is the attention residual,
after ``mlp`` the MLP residual; a kernel of a run outside every forward is sampling).  Kernels the
module tree leaves open — launched by ``LlamaModel.forward`` itself (position ids, mask) — have
no truth operator and count as wrong; the MoE block's own kernels (routing softmax/top-k, token
permutation) are ``router`` or ``experts`` either way, since the module tree cannot say which.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from rooflens.analysis.inferred_runs import launch_order
from rooflens.analysis.structure import Structure, infer_structure
from rooflens.analysis.timeline import TimelineKernel, run_kernels
from rooflens.traces import load_timeline
from rooflens.traces.projection import ancestor_in, project

FIX = Path(__file__).resolve().parents[1] / "fixtures"
MODELS = ["h200_hf_llama", "h200_hf_qwen3moe"]

LEAF = {
    "embed_tokens": "embedding", "rotary_emb": "rope", "input_layernorm": "attn_norm",
    "q_proj": "q_proj", "k_proj": "k_proj", "v_proj": "v_proj", "q_norm": "qk_norm",
    "k_norm": "qk_norm", "o_proj": "o_proj", "post_attention_layernorm": "mlp_norm",
    "gate_proj": "gate_proj", "up_proj": "up_proj", "down_proj": "down_proj", "act_fn": "act",
    "norm": "final_norm", "lm_head": "lm_head", "gate": "router",
    "F:apply_rotary_pos_emb": "rope", "F:scaled_dot_product_attention": "attention",
    "F:DynamicLayer.update": "kv_cache_write",
}  # fmt: skip
LAYER = re.compile(r"^M:model\.layers\.(\d+)")


def _truth(kernels: list[TimelineKernel]) -> list[tuple[str | None, frozenset[str], int | None]]:
    """(run, accepted operators, layer) per kernel from its range stack (module docstring)."""
    out = []
    last_child = None
    for k in kernels:
        stack = k.nvtx
        run = "GENERATE" if "GENERATE" in stack else None
        layer = next((int(m.group(1)) for s in stack if (m := LAYER.match(s))), None)
        leaf = stack[-1] if stack else ""
        ops: frozenset[str] = frozenset()
        if leaf.startswith("F:"):
            ops = frozenset({LEAF[leaf]})
        elif leaf.startswith("M:"):
            path = leaf[2:].split(".")
            if ".experts" in leaf:
                ops = frozenset({"experts"})
            elif path[-1] in LEAF and not (path[-1] == "norm" and layer is not None):
                ops = frozenset({LEAF[path[-1]]})
            elif path[-1] == "self_attn":
                ops = frozenset({"attention"})
            elif path[-1] == "mlp":
                moe = any(".mlp.gate" in s or ".experts" in s for s in stack) or MOE[0]
                ops = frozenset({"router", "experts"}) if moe else frozenset({"act"})
            elif re.fullmatch(r"model\.layers\.\d+", leaf[2:]):
                ops = frozenset({"attn_residual" if last_child == "self_attn" else "mlp_residual"})
        elif stack == ["GENERATE"]:
            ops = frozenset({"sampling"})
        for entry in stack:
            if m := re.match(r"^M:model\.layers\.\d+\.(self_attn|mlp)$", entry):
                last_child = m.group(1)
        out.append((run, ops, layer))
    return out


MOE = [False]


@cache
def _load(model: str) -> tuple[Structure, list[TimelineKernel], list[str], list[str]]:
    def read(name: str):  # type: ignore[no-untyped-def]
        t = load_timeline(FIX / model / name)
        p = project(t)
        return t, p, launch_order(t, p)

    tp, _, op = read("plain.sqlite")
    tt, pt, ot = read("truth.sqlite")
    k = tp.kernels
    s = infer_structure(k.name_id[op], tp.strings.values, k.start_s[op], k.end_s[op], k.grid[op])
    names = [tp.strings[i] for i in k.name_id[op].tolist()]
    tnames = [tt.strings[i] for i in tt.kernels.name_id[ot].tolist()]
    return s, run_kernels(tt, pt, ot), names, tnames


def _generate_calls(model: str) -> list[list[int]]:
    """Kernel indices (launch order) of each GENERATE range instance of the truth capture."""
    t = load_timeline(FIX / model / "truth.sqlite")
    p = project(t)
    order = launch_order(t, p)
    wanted = np.array([t.strings[i] == "GENERATE" for i in t.ranges.name_id.tolist()], dtype=bool)
    inst = ancestor_in(t, p.innermost, wanted)[order]
    rows = sorted(set(inst.tolist()) - {-1}, key=lambda r: t.ranges.start_s[r])
    return [np.flatnonzero(inst == r).tolist() for r in rows]


@pytest.mark.parametrize("model", MODELS)
def test_same_kernels_in_plain_and_truth(model: str) -> None:
    _, _, names, tnames = _load(model)
    assert names == tnames and len(names) > 2000


@pytest.mark.parametrize("model", MODELS)
def test_runs_steps_and_phases(model: str) -> None:
    s, truth, _, _ = _load(model)
    calls = _generate_calls(model)
    assert len(calls) == 2 == len(s.runs) and s.chosen == 1
    assert s.layer_count == 2
    steps = [k.nvtx.count("STEP") for k in truth]
    # Steps of the last call: each STEP range instance is one forward (prefill + 7 decode).
    last = calls[-1]
    step_ids: list[int] = []
    for i in last:
        if steps[i] and (not step_ids or truth[i - 1].nvtx.count("STEP") == 0):
            step_ids.append(i)
    assert len(step_ids) == len(s.runs[1].steps) == 8
    assert [st.first for st in s.runs[1].steps] == step_ids
    assert [st.phase for st in s.runs[1].steps] == ["prefill"] + [
        f"decode[{k}]" for k in range(1, 8)
    ]
    # Set-up (weight initialisation before the first generate()) is outside every run.
    first_gen = calls[0][0]
    assert (s.run[:first_gen] == -1).all() and first_gen > 50
    # The chosen run lies inside the last generate() call.
    run = s.runs[1]
    assert calls[-1][0] <= run.first and run.end - 1 <= calls[-1][-1]


def _score(model: str) -> tuple[float, float, int]:
    s, truth, _, _ = _load(model)
    MOE[0] = model.endswith("moe")
    labels = _truth(truth)
    last = _generate_calls(model)[-1]
    total = right = 0.0
    wrong_layer = 0
    for i in last:
        _, ops, layer = labels[i]
        d = truth[i].duration_s
        total += d
        if s.operator[i] in ops:
            right += d
            wrong_layer += (s.layer[i] if s.layer[i] >= 0 else None) != layer
    return right / total, total, wrong_layer


@pytest.mark.parametrize(("model", "floor"), [("h200_hf_llama", 0.98), ("h200_hf_qwen3moe", 0.975)])
def test_operators_and_layers_against_truth(model: str, floor: float) -> None:
    share, _, wrong_layer = _score(model)
    assert share >= floor, share
    assert wrong_layer == 0


def test_static_cache_cuda_graph_capture(tmp_path: Path, without_nvtx: Any) -> None:
    """generate() with a static cache: prefill eager, decode steps compiled (Inductor/Triton) and
    replayed from CUDA graphs after a compile run of ~11,900 kernels.  With its NVTX table
    emptied, the chosen run is the annotated capture's steady-state run, kernel for kernel
    (minus generate()'s own kernels before the prefill, which no step holds), with its phases."""

    from rooflens.analysis.timeline import analyze_timeline

    src = FIX / "h200_hf_llama_static" / "annotated" / "timeline.sqlite.gz"
    plain = without_nvtx(src)
    t = load_timeline(plain)
    order = launch_order(t, project(t))
    k = t.kernels
    s = infer_structure(
        k.name_id[order], t.strings.values, k.start_s[order], k.end_s[order], k.grid[order]
    )
    truth = analyze_timeline(load_timeline(src))  # NVTX: Run[1], prefill + decode[1..7]
    assert truth.chosen_run == "Run[1]"
    run = s.runs[s.chosen]  # type: ignore[index]
    assert [st.phase for st in run.steps] == ["prefill"] + [f"decode[{i}]" for i in range(1, 8)]
    mine = {float(k.start_s[order][i]): s.phase[i] for i in range(run.first, run.end)}
    want = {kk.start_s: kk.phase for kk in truth.kernels if kk.phase is not None}
    assert mine == want


@pytest.mark.parametrize("model", MODELS)
def test_every_inferred_operator_is_a_vocabulary_name(model: str) -> None:
    from rooflens.vocab import OPERATOR_CLASSES

    s, _, _, _ = _load(model)
    assert {op for op in s.operator if op is not None} <= set(OPERATOR_CLASSES)
