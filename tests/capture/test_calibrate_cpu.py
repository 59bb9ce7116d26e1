"""The calibration benchmarks' pure parts, on a machine without a GPU: kernel-stream
segmentation, the shapes they cover, the eager operators' ideal bytes."""

from __future__ import annotations

import pytest

from rooflens.capture.calibrate import MARKER, PRODUCER, _attention_grid, _split, preset_linears

FLUSH = "void at::native::reduce_kernel<512, 1, at::native::ReduceOp<float>>"


def test_split_sums_the_kernels_of_one_call_and_drops_warmups_and_flushes() -> None:
    # warm-up of point 0 | marker | 2 reps × (flush, gemm, split-K reduce) | marker | point 1 …
    ks = [(0.0, 9.0, "warm"), (1.0, 0.1, MARKER)]
    for i, (g, r) in enumerate(((4e-6, 1e-6), (6e-6, 1e-6))):
        ks += [
            (2.0 + i, 5e-6, FLUSH),
            (2.1 + i, g, "nvjet_gemm"),
            (2.2 + i, r, "splitKreduce_kernel"),
        ]
    ks += [(5.0, 0.1, MARKER), (6.0, 9.0, "warm"), (7.0, 0.1, MARKER), (8.0, 0.1, MARKER)]
    res = _split(ks, [2, 3], {1}, flush=True)
    assert res[1] is None  # failed point
    t, per, names = res[0]  # type: ignore[misc]
    assert per == 2 and names == ["nvjet_gemm", "splitKreduce_kernel"]
    assert abs(t - 6e-6) < 1e-15  # median of 5 µs and 7 µs


def test_split_drops_the_producers_fill_in_the_context_regime() -> None:
    # marker | 3 reps × (flush, fill of the activation input, rms_norm) | marker
    fill = f"void at::native::vectorized_elementwise_kernel<8, at::native::{PRODUCER}<c10::Half>>"
    ks = [(0.0, 0.1, MARKER)]
    for i, t in enumerate((5e-6, 6e-6, 9e-6)):
        ks += [(1.0 + i, 5e-6, FLUSH), (1.1 + i, 2e-6, fill), (1.2 + i, t, "layer_norm_kernel")]
    ks += [(5.0, 0.1, MARKER)]
    t, per, names = _split(ks, [3], set(), flush=True, produced=True)[0]  # type: ignore[misc]
    assert per == 1 and names == ["layer_norm_kernel"] and abs(t - 6e-6) < 1e-15
    # without producers a fill is timed like any kernel of the call
    _, per, _ = _split(ks, [3], set(), flush=True, produced=False)[0]  # type: ignore[misc]
    assert per == 2


def test_preset_linears_cover_llama3_8b() -> None:
    # Llama-3-8B: h 4096, 32 heads + 2·8 KV heads of 128, MLP 14336, vocabulary 128256
    want = {(6144, 4096), (4096, 4096), (28672, 4096), (4096, 14336), (128256, 4096)}
    assert want <= set(preset_linears())


def test_attention_grid_caps_the_largest_points() -> None:
    grid = {(phase, b): lens for phase, b, lens in _attention_grid(32)}
    assert grid[("prefill", 1)][-1] == 4096
    assert 4096 not in grid[("prefill", 32)]  # 32 · 32 · 4096² > 2³³ score elements
    assert (
        max(b * L for (phase, b), lens in grid.items() for L in lens if phase == "decode")
        <= 1 << 21
    )


def test_host_per_operator_benchmark_names_the_predictors_operators() -> None:
    torch = pytest.importorskip("torch")
    from rooflens.capture.calibrate_host import bench_host_ops
    from rooflens.predict.attainable import EAGER_CALLS

    # On the CPU the times are compute, not launch overhead: this checks what is timed and named.
    r = bench_host_ops(torch, steps=3, device="cpu")
    assert set(r["op_s"]) == set(EAGER_CALLS) - {"qk_norm"}  # the workload has no q/k norm
    assert all(v > 0 for v in r["op_s"].values())
    assert r["layer_extra_s"] >= 0 and r["step_extra_s"] >= 0 and r["reference"]["steps"] == 3
    assert r["layer_s"] >= sum(r["op_s"][n] for n in ("attn_norm", "rope", "attention"))


def test_marker_times_each_range_on_the_host_when_asked() -> None:
    pytest.importorskip("torch")
    from rooflens.capture.workload import Marker

    mark = Marker(torch_ranges=False, nvtx=False)
    with mark("rope"):
        pass
    assert mark.host_s is None  # off by default: the workload's hot path keeps no lists
    mark.host_s = {}
    for _ in range(3):
        with mark("rope"), mark("inner"):
            pass
    assert len(mark.host_s["rope"]) == 3 and len(mark.host_s["inner"]) == 3
    assert all(o >= i for o, i in zip(mark.host_s["rope"], mark.host_s["inner"], strict=True))


def test_host_processes_combine_to_the_median_process_and_keep_every_draw() -> None:
    from rooflens.capture.calibrate_host import combine_processes

    def run(layer_s: float, rope: float) -> dict:
        return {"eager_call_s": {"add": 1e-5}, "ops": {"op_s": {"rope": rope}, "layer_s": layer_s}}

    doc = combine_processes([run(8e-4, 2e-4), {"ops": run(5e-4, 1e-4)["ops"]}, run(6e-4, 1.5e-4)])
    assert doc["eager_call_s"] == {"add": 1e-5}  # the first (full) benchmark's other parts
    assert doc["ops"]["op_s"] == {"rope": 1.5e-4} and doc["ops"]["layer_s"] == 6e-4
    assert doc["ops"]["process_layer_s"] == [8e-4, 5e-4, 6e-4]
    two = combine_processes([run(8e-4, 2e-4), run(5e-4, 1e-4)])
    assert two["ops"]["layer_s"] == 5e-4  # the lower middle of an even count


def test_allreduce_benchmark_times_every_size_on_two_processes() -> None:
    torch = pytest.importorskip("torch")
    from rooflens.capture.calibrate_comm import bench_allreduce
    from rooflens.predict.ops import ring_factor as bus_factor

    logs: list[str] = []
    # gloo on CPU tensors: the spawn, rendezvous, timing and file of the NCCL path without GPUs
    doc = bench_allreduce(torch, logs.append, gpus=2, sizes=(4096, 1 << 20), backend="gloo")
    assert doc["gpus"] == 2 and doc["bytes"] == [4096, 1 << 20] and doc["backend"] == "gloo"
    assert all(t > 0 for t in doc["time_s"])
    for size, t, bus in zip(doc["bytes"], doc["time_s"], doc["bus_bandwidth_bps"], strict=True):
        assert bus == pytest.approx(size / t * bus_factor(2))
    assert bus_factor(2) == 1.0 and bus_factor(8) == pytest.approx(1.75)
    assert logs and "bus bandwidth" in logs[-1]
    one = bench_allreduce(torch, logs.append, gpus=1)
    assert one == {"skipped": "1 GPU visible: all-reduce bus bandwidth needs at least 2"}
