"""Representative NCU counters: join by NVTX path, propagation and KV-length scaling, on real captures.

The held-out check: ``h200_llama3_8b_decode4`` was captured with ncu over every kernel of
``Run[2]`` (prefill + 3 decode steps).  Dropping one decode step's NCU kernels and propagating
from the others must give the counters ncu really measured for that step (within 5% for DRAM
bytes and FLOPs) — an identical launch measured on purpose.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from rooflens.analysis.counters import join_by_path, roles
from rooflens.analysis.kernels import analyze_kernels
from rooflens.analysis.timeline import analyze_timeline
from rooflens.capture.sample import sample_layers, sample_steps
from rooflens.traces import load_ncu, load_timeline
from rooflens.traces.model import NcuKernels
from rooflens.traces.names import short_kernel_name
from rooflens.vocab import step_of

FIX = Path(__file__).resolve().parents[1] / "fixtures"
DECODE4 = FIX / "h200_llama3_8b_decode4"
PREFILL = FIX / "h200_llama3_8b_prefill"


@pytest.fixture(scope="module")
def decode4() -> tuple:
    tl = analyze_timeline(load_timeline(DECODE4 / "timeline.sqlite"))
    return tl, load_ncu(DECODE4 / "kernels.csv")


def test_sample_policy() -> None:
    assert sample_steps(1) == [0]
    assert sample_steps(2) == [0, 1]
    assert sample_steps(64) == [0, 1, 63]  # prefill, first and last decode step
    assert sample_steps(64, check=True) == [0, 1, 2, 32, 63]
    assert sample_steps(3, check=True) == [0, 1, 2]
    assert sample_layers(32) == [0] and sample_layers(1) == [0]
    assert sample_layers(32, check=True) == [0, 1, 31] and sample_layers(1, check=True) == [0]
    # The cost is independent of depth and length: the same count for 8 and 32 layers, 16 and 64 tokens.
    assert len(sample_steps(16)) == len(sample_steps(64)) and len(sample_layers(8)) == len(
        sample_layers(32)
    )


@pytest.mark.parametrize("fixture", [PREFILL, DECODE4])
def test_path_join_equals_the_order_join_on_full_captures(fixture: Path) -> None:
    """Every kernel profiled: joining by NVTX path gives the launch-order join, kernel by kernel."""
    tl = analyze_timeline(load_timeline(fixture / "timeline.sqlite"))
    ncu = load_ncu(fixture / "kernels.csv")
    kernels = [k for k in ncu.kernels if "Run[2]" in k.nvtx]
    names = [short_kernel_name(k.name) for k in tl.kernels]
    got = join_by_path([k.nvtx for k in kernels], [{short_kernel_name(k.name)} for k in kernels],
                       [k.nvtx for k in tl.kernels], names)  # fmt: skip
    assert got == list(range(len(tl.kernels)))  # ncu profiled Run[2] whole, in launch order


@pytest.mark.parametrize("held_out", ["decode[1]", "decode[2]", "decode[3]"])
def test_propagated_counters_match_the_measured_launch(decode4: tuple, held_out: str) -> None:
    tl, ncu = decode4
    truth = {f.timeline_index: f for f in analyze_kernels(ncu, tl).kernels}
    kept = NcuKernels(ncu.source, ncu.path, [k for k in ncu.kernels if held_out not in k.nvtx])
    got = analyze_kernels(kept, tl)
    carried = [f for f in got.kernels if f.counters != "measured"]
    held = [i for i, k in enumerate(tl.kernels) if k.phase == held_out]
    assert sorted(f.timeline_index for f in carried) == held  # every held-out launch got counters
    assert len(got.kernels) == len(tl.kernels)
    for f in carried:
        t = truth[f.timeline_index]
        assert f.short_name == t.short_name and f.operator == t.operator
        for key in ("dram_bytes", "flops"):
            a, b = getattr(f, key), getattr(t, key)
            assert a == pytest.approx(b, rel=0.05, abs=1.0), (f.operator, key)
        src = got.kernels[f.counters_from]
        assert src.counters == "measured" and tl.kernels[src.timeline_index].phase != held_out


def test_attention_is_scaled_between_the_measured_steps(decode4: tuple) -> None:
    """Decode attention reads a KV cache one position longer each step: its bytes are interpolated."""
    tl, ncu = decode4
    kept = NcuKernels(ncu.source, ncu.path, [k for k in ncu.kernels if "decode[2]" not in k.nvtx])
    got = analyze_kernels(kept, tl)
    scaled = [f for f in got.kernels if f.counters == "scaled"]
    assert scaled and all(f.operator == "attention" for f in scaled)
    by_tl = {f.timeline_index: f for f in got.kernels}
    role_of = roles([k.to_dict() for k in tl.kernels])
    for f in scaled:
        same = [i for i, r in enumerate(role_of) if r == role_of[f.timeline_index]]
        neighbours = {
            step_of(tl.kernels[i].phase): by_tl[i].dram_bytes
            for i in same
            if by_tl[i].counters == "measured"
        }
        lo, hi = neighbours[1], neighbours[3]
        assert f.dram_bytes == pytest.approx(
            (lo + hi) / 2
        )  # step 2 is halfway between steps 1 and 3


def test_rows_say_where_their_counters_come_from(decode4: tuple) -> None:
    """Only the prefill and decode[1] measured: decode[2] and decode[3] take decode[1]'s counters
    (one measured decode step: nothing to interpolate, so attention is propagated, not scaled)."""
    tl, ncu = decode4
    kept = NcuKernels(
        ncu.source,
        ncu.path,
        [k for k in ncu.kernels if "decode[2]" not in k.nvtx and "decode[3]" not in k.nvtx],
    )
    got = analyze_kernels(kept, tl)
    counts = Counter(f.counters for f in got.kernels)
    later = sum(1 for k in tl.kernels if k.phase in ("decode[2]", "decode[3]"))
    assert counts == {"measured": len(kept.kernels), "propagated": later}
    for f in got.kernels:
        if f.counters != "measured":
            assert f.findings == [] and f.ncu_duration_s is None
            assert f.duration_s == tl.kernels[f.timeline_index].duration_s
            assert tl.kernels[got.kernels[f.counters_from].timeline_index].phase == "decode[1]"


def _expert_path(step: str, expert: int, sampled: bool = False) -> tuple[str, ...]:
    base = ("Run[2]", step, "Layer[0]#Run[2]")
    return (*base, *(("ncu#Run[2]",) if sampled else ()), "experts", f"expert[{expert}]")


def test_join_ignores_which_experts_a_decode_token_was_routed_to() -> None:
    # The full run visited experts 3, 9, 40 in decode[5]; ncu's pass of the sample (routing
    # differs: earlier steps were not run) visited 7 and 12 first, two kernels each.
    tl_paths = [_expert_path("decode[5]", e) for e in (3, 3, 9, 9, 40, 40)]
    tl_names = ["gemm", "silu", "gemm", "silu", "gemm", "silu"]
    ncu_paths = [_expert_path("decode[5]", e, sampled=True) for e in (7, 7, 12, 12)]
    ncu_names = [{"gemm"}, {"silu"}, {"gemm"}, {"silu"}]
    assert join_by_path(ncu_paths, ncu_names, tl_paths, tl_names) == [0, 1, 2, 3]


def test_each_expert_iteration_plays_the_same_roles() -> None:
    # Roles restart in every expert's range, so counters pass from expert 3 to expert 40.
    kernels = [{"nvtx": _expert_path("prefill", e)} for e in (3, 3, 40, 40)]
    r = roles(kernels)
    assert r[0] == r[2] and r[1] == r[3] and r[0] != r[1]
