"""Timeline analysis on hand-built traces; every expected figure is derived by hand in the test."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from rooflens.analysis.timeline import WHOLE_TRACE, analyze_timeline  # noqa: E402
from rooflens.errors import RooflensError  # noqa: E402
from rooflens.traces import load_timeline  # noqa: E402
from traces.synth import K, R, Synth, write_kineto, write_nsys  # noqa: E402

US = 1000  # synth times are ns


@pytest.fixture(params=["nsys", "kineto"])
def write(request: pytest.FixtureRequest):  # type: ignore[no-untyped-def]
    """Each test runs on both timeline formats: same events, same figures."""
    fn = write_nsys if request.param == "nsys" else write_kineto
    return lambda tmp, syn: load_timeline(
        fn(tmp / f"t.{'sqlite' if request.param == 'nsys' else 'json'}", syn)
    )


def test_projection_uses_launch_thread_and_process(tmp_path: Path, write) -> None:  # type: ignore[no-untyped-def]
    syn = Synth(
        kernels=[
            # launched inside Run[0] (at 9 us) but runs after the range ended: belongs to it
            K("late", 25 * US, 27 * US, corr=1, launch=9 * US),
            # launched inside the range's time but on another thread: does not
            K("other_thread", 30 * US, 31 * US, corr=2, launch=10 * US, tid=101),
            # another process, its launch (50 us) outside the range
            K("other_proc", 60 * US, 61 * US, corr=3, launch=50 * US, pid=200),
        ],
        ranges=[R("Run[0]", 8 * US, 20 * US)],
    )
    a = analyze_timeline(write(tmp_path, syn))
    a.self_check()
    assert a.chosen_run == "Run[0]"
    assert [k.short_name for k in a.kernels] == ["late"]
    (run,) = a.runs
    assert run.kernel_count == 1 and run.kernel_time_s == pytest.approx(2e-6)
    # window = [min(8, 25), max(20, 27)] = 19 us; busy 2 us
    assert run.window_s == pytest.approx(19e-6)
    assert run.bubble_ratio == pytest.approx(1 - 2 / 19)
    assert a.overview.kernel_count == 3


def test_overlapping_kernels_count_once_and_gaps_split(tmp_path: Path, write) -> None:  # type: ignore[no-untyped-def]
    syn = Synth(
        kernels=[
            K("a", 10 * US, 20 * US, corr=1, launch=5 * US, stream=7),
            K(
                "b", 15 * US, 30 * US, corr=2, launch=6 * US, stream=8
            ),  # overlaps a on another stream
            K(
                "c", 40 * US, 45 * US, corr=3, launch=35 * US
            ),  # launched after a, b ended: host-bound gap
            K("d", 50 * US, 52 * US, corr=4, launch=36 * US),  # launched early: "other" gap
        ],
        ranges=[R("Run[0]", 0, 60 * US)],
    )
    a = analyze_timeline(write(tmp_path, syn))
    r = a.chosen
    # union: [10,30] + [40,45] + [50,52] = 20 + 5 + 2 = 27 us; Σ = 10 + 15 + 5 + 2 = 32 us
    assert r.gpu_busy_s == pytest.approx(27e-6)
    assert r.kernel_time_s == pytest.approx(32e-6)
    assert r.window_s == pytest.approx(60e-6) and r.bubble_ratio == pytest.approx(1 - 27 / 60)
    # inter-kernel window [10, 52] = 42 us
    assert r.inter_kernel_bubble_ratio == pytest.approx(1 - 27 / 42)
    assert (r.host_bound_gaps, r.other_gaps) == (1, 1)
    assert r.host_bound_gap_s == pytest.approx(10e-6) and r.other_gap_s == pytest.approx(5e-6)


def _workload(runs: int = 3) -> Synth:
    """Run[j] > prefill > Layer[0]#Run[j] > {attn_norm, qkv_proj}, two kernels per run."""
    syn = Synth()
    corr = 0
    for j in range(runs):
        t0 = j * 1000 * US
        dur = 500 if j == 0 else 100  # run 0 is slow (warm-up)
        syn.ranges += [R(f"Run[{j}]", t0, t0 + dur * US), R("prefill", t0 + US, t0 + (dur - 1) * US),
                       R(f"Layer[0]#Run[{j}]", t0 + 2 * US, t0 + (dur - 2) * US),
                       R("attn_norm", t0 + 3 * US, t0 + 4 * US), R("qkv_proj", t0 + 5 * US, t0 + 6 * US)]  # fmt: skip
        for n, (op_t, name) in enumerate([(3, "rms_norm"), (5, "nvjet_gemm")]):
            corr += 1
            start = t0 + (10 + 20 * n) * US
            syn.kernels.append(
                K(name, start, start + 10 * US, corr=corr, launch=t0 + op_t * US + 100)
            )
    return syn


def test_runs_side_by_side_and_last_run_chosen(tmp_path: Path, write) -> None:  # type: ignore[no-untyped-def]
    a = analyze_timeline(write(tmp_path, _workload()))
    a.self_check()
    assert [r.name for r in a.runs] == ["Run[0]", "Run[1]", "Run[2]"]
    assert a.chosen_run == "Run[2]"
    assert [r.range_duration_s for r in a.runs] == pytest.approx([500e-6, 100e-6, 100e-6])
    assert all(r.kernel_count == 2 for r in a.runs)
    # Run[2]: kernels [2010, 2020] and [2030, 2040] us in window [2000, 2100]: busy 20 of 100
    assert a.chosen.bubble_ratio == pytest.approx(0.8)
    assert [(k.short_name, k.operator, k.phase, k.layer) for k in a.kernels] == [
        ("rms_norm", "attn_norm", "prefill", 0),
        ("nvjet_gemm", "qkv_proj", "prefill", 0),
    ]
    assert a.kernels[0].nvtx == ["Run[2]", "prefill", "Layer[0]#Run[2]", "attn_norm"]
    assert [k.share for k in a.kernels] == pytest.approx([0.5, 0.5])


def test_run_selector_by_name_and_regex(tmp_path: Path, write) -> None:  # type: ignore[no-untyped-def]
    trace = write(tmp_path, _workload())
    assert analyze_timeline(trace, "Layer[0]#Run[1]").chosen.range_duration_s == pytest.approx(
        96e-6
    )
    every_layer = analyze_timeline(trace, r"^Layer\[0\]#Run\[[12]\]$")
    assert every_layer.chosen.instances == 2 and every_layer.chosen.kernel_count == 4
    with pytest.raises(RooflensError, match="no NVTX range"):
        analyze_timeline(trace, "Run[7]")


def test_layer_runs_with_several_instances_aggregate(tmp_path: Path, write) -> None:  # type: ignore[no-untyped-def]
    # SGLang style: no Run[j]; Layer[0]#Run[1] once for prefill and once for a decode step.
    syn = Synth(
        kernels=[
            K("p", 12 * US, 20 * US, corr=1, launch=11 * US),
            K("d", 52 * US, 54 * US, corr=2, launch=51 * US),
        ],
        ranges=[R("Layer[0]#Run[1]", 10 * US, 30 * US), R("Layer[0]#Run[1]", 50 * US, 55 * US)],
    )
    a = analyze_timeline(write(tmp_path, syn))
    (run,) = a.runs
    assert run.name == "Layer[0]#Run[1]" and run.instances == 2
    assert run.range_duration_s == pytest.approx(25e-6)  # 20 + 5
    assert run.gpu_busy_s == pytest.approx(10e-6)  # 8 + 2
    assert run.window_s == pytest.approx(25e-6)  # each window is its range here
    # gaps between instances are not inter-kernel gaps: inter-kernel windows are 8 + 2 us
    assert run.inter_kernel_bubble_ratio == pytest.approx(0.0)


def test_trace_without_ranges_gets_whole_trace_overview(tmp_path: Path, write) -> None:  # type: ignore[no-untyped-def]
    syn = Synth(kernels=[K("a", 0, 4 * US, 1, 0), K("b", 6 * US, 10 * US, 2, 1 * US)])
    a = analyze_timeline(write(tmp_path, syn))
    assert a.chosen_run == WHOLE_TRACE and a.runs == []
    assert a.chosen.gpu_busy_s == pytest.approx(8e-6) and a.chosen.bubble_ratio == pytest.approx(
        0.2
    )
    assert any("whole-trace" in w for w in a.warnings)
    assert a.to_dict()["runs"][0]["name"] == WHOLE_TRACE


def test_correlation_ids_join_within_their_process(tmp_path: Path) -> None:
    # nsys only: a Kineto file holds one process.  Process 200 reuses correlation id 1 and its
    # launch (50 us) is outside the range; a join on the id alone would mix the two launches.
    syn = Synth(
        kernels=[
            K("mine", 25 * US, 27 * US, corr=1, launch=9 * US),
            K("theirs", 60 * US, 61 * US, corr=1, launch=50 * US, pid=200, tid=100),
        ],  # fmt: skip
        ranges=[R("Run[0]", 8 * US, 20 * US)],
    )
    a = analyze_timeline(load_timeline(write_nsys(tmp_path / "p.sqlite", syn)))
    assert [k.short_name for k in a.kernels] == ["mine"]


def test_start_end_ranges_join_by_process(tmp_path: Path) -> None:
    syn = Synth(
        kernels=[
            K("a", 10 * US, 12 * US, 1, 5 * US, tid=150),
            K("b", 30 * US, 32 * US, 2, 25 * US),
        ],
        ranges=[R("Run[0]", 0, 20 * US, tid=999, push_pop=False)],
    )
    a = analyze_timeline(load_timeline(write_nsys(tmp_path / "se.sqlite", syn)))
    assert [k.short_name for k in a.kernels] == ["a"]
