"""Attainable times: never below the ideal roofline unless L2-resident, launch-bound regimes,
fallback without a calibration, and the CLI's one-line error for a broken file."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rooflens.hardware import lookup
from rooflens.hardware.calibration import bundled_for, from_dict
from rooflens.model import load_architecture
from rooflens.predict import Precision, Workload, predict

H200 = lookup("H200")


def _wl(b: int, s: int, n: int, layers: int = 2) -> Workload:
    return Workload(b, s, n, Precision.parse("fp16"), layers)


@pytest.mark.parametrize("model", ["llama-3-8b", "qwen3-8b"])
@pytest.mark.parametrize(("b", "s"), [(1, 128), (32, 1024)])
def test_attainable_never_beats_the_ideal_outside_l2(model: str, b: int, s: int) -> None:
    cal = bundled_for(H200.key)
    pred = predict(load_architecture(model), H200, _wl(b, s, 17), cal)
    for r in pred.operators:
        assert r.attainable_time_s is not None
        if not r.l2_resident:
            assert r.attainable_time_s >= r.time_s * (1 - 1e-12), (r.name, r.phase)
        assert r.attainable_time_s >= r.compute_time_s * (1 - 1e-12), (r.name, r.phase)
    for name in ("prefill", "decode_first_token", "decode_total"):
        rows = [r.attainable_time_s for r in pred.operators if r.phase == name]
        assert pred.phases[name].attainable_time_s == pytest.approx(sum(rows))


def _synthetic(fast_bytes_per_s: float, b2b_s: float, isolated_s: float, host_s: float) -> dict:
    """A hand-made calibration: memory kinds at a fixed throughput, rms_norm eager curves flat
    at ``b2b_s`` / ``isolated_s``, every host call ``host_s``."""
    sizes = [1e3, 1e12]
    mem = {"bytes": sizes, "time_s": [s / fast_bytes_per_s for s in sizes]}
    flat = lambda t: {"bytes": sizes, "time_s": [t, t * (1 + 1e-9)]}  # noqa: E731
    host = {
        k: host_s
        for k in ("add", "mm", "rms_norm", "sdpa", "embedding", "slice_copy", "nvtx_range")
    }
    return {
        "schema": "rooflens-calibration", "version": 1,
        "key": {"gpu_name": "NVIDIA H200", "l2_bytes": 50 * 2**20},
        "host": {"eager_call_s": host, "graph_kernel_s": 1e-9, "graph_replay_host_s": host_s},
        "memory": {"add": mem, "rms_norm": mem},
        "min_kernel_s": 1e-9, "gemm": {}, "attention": {},
        "eager": {"back_to_back": {"rms_norm": flat(b2b_s)}, "isolated": {"rms_norm": flat(isolated_s)}},
    }  # fmt: skip


def test_faster_than_dram_only_when_the_operands_fit_in_l2() -> None:
    doc = _synthetic(fast_bytes_per_s=1e15, b2b_s=1e-12, isolated_s=1e-12, host_s=1e-9)
    del doc["eager"]  # the generic memory curves: 1 PB/s, far above the 4.8 TB/s DRAM roof
    cal = from_dict(doc, Path("synthetic.json"))
    arch = load_architecture("llama-3-8b")
    small = predict(arch, H200, _wl(1, 128, 1, 1), cal)
    big = predict(arch, H200, _wl(32, 4096, 1, 1), cal)

    def row(p):  # type: ignore[no-untyped-def]
        return next(r for r in p.operators if r.name == "attn_residual" and r.phase == "prefill")

    # b1 · 128 tokens · 4096 · 2 B · 3 tensors = 3 MiB ≤ 50 MiB of L2: below the roof, flagged
    assert row(small).l2_resident and row(small).attainable_time_s < row(small).time_s
    assert any("l2_resident" in n for n in small.notes)
    # 32 · 4096 tokens: 3 GiB, DRAM-sized: clamped to the roofline time
    assert not row(big).l2_resident
    assert row(big).attainable_time_s == pytest.approx(row(big).time_s)


def test_launch_bound_steps_use_isolated_kernel_times() -> None:
    arch = load_architecture("llama-3-8b")
    wl = _wl(1, 128, 1, 1)
    norm = lambda p: next(r for r in p.operators if r.name == "attn_norm" and r.phase == "prefill")  # noqa: E731
    # host calls of 1 ms each: the step is launch-bound, each kernel starts on an idle device
    slow_host = from_dict(_synthetic(4.8e12, 1e-6, 3e-6, 1e-3), Path("a.json"))
    assert norm(predict(arch, H200, wl, slow_host)).attainable_time_s == pytest.approx(3e-6)
    # host calls of 1 ns: device-bound, kernels back to back
    fast_host = from_dict(_synthetic(4.8e12, 1e-6, 3e-6, 1e-9), Path("b.json"))
    assert norm(predict(arch, H200, wl, fast_host)).attainable_time_s == pytest.approx(1e-6)


def test_run_timeline_window_is_the_host_when_launch_bound() -> None:
    cal = from_dict(_synthetic(4.8e12, 1e-6, 3e-6, 1e-3), Path("a.json"))
    pred = predict(load_architecture("llama-3-8b"), H200, _wl(1, 128, 5, 1), cal)
    assert pred.run_timeline is not None
    eager = pred.run_timeline["eager"]
    assert eager["window_s"] == pytest.approx(eager["host_time_s"], rel=1e-3)
    assert eager["bubble_ratio"] == pytest.approx(
        1 - eager["device_time_s"] / eager["host_time_s"], rel=1e-3
    )
    graph = pred.run_timeline["cuda_graph"]
    assert graph["host_time_s"] < eager["host_time_s"]  # one replay call per decode step


def test_without_calibration_attainable_is_null_and_the_note_says_why() -> None:
    arch = load_architecture("llama-3-8b")
    pred = predict(arch, lookup("H100"), _wl(1, 128, 4), None, "no calibration for H100")
    d = pred.to_dict()
    assert all(o["attainable_time_s"] is None for o in d["operators"])  # type: ignore[union-attr]
    assert all(p["attainable_time_s"] is None for p in d["phases"].values())  # type: ignore[union-attr]
    assert d["calibration"] is None and "no calibration for H100" in d["notes"]  # type: ignore[operator]


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "rooflens", *args], capture_output=True, text=True, timeout=120
    )


def test_broken_calibration_file_is_one_line_and_exit_2(tmp_path: Path) -> None:
    bad = tmp_path / "cal.json"
    doc = _synthetic(4.8e12, 1e-6, 3e-6, 1e-9)
    doc["memory"]["add"]["time_s"] = [1e-6, float("nan")]
    bad.write_text(json.dumps(copy.deepcopy(doc)), encoding="utf-8")
    p = _cli("predict", "-m", "llama-3-8b", "--gpu", "H200", "--calibration", str(bad))
    assert p.returncode == 2
    assert p.stderr.count("\n") == 1 and p.stderr.startswith("rooflens: ") and "finite" in p.stderr


def test_predict_json_uses_the_bundled_h200_file_and_none_disables_it() -> None:
    p = _cli("predict", "-m", "llama-3-8b", "--gpu", "H200", "--json")
    pred = json.loads(p.stdout)["prediction"]
    assert pred["calibration"].startswith("NVIDIA H200")
    assert pred["phases"]["prefill"]["attainable_time_s"] > pred["phases"]["prefill"]["time_s"]
    p = _cli("predict", "-m", "llama-3-8b", "--gpu", "H200", "--json", "--calibration", "none")
    pred = json.loads(p.stdout)["prediction"]
    assert pred["calibration"] is None and pred["phases"]["prefill"]["attainable_time_s"] is None
    assert np.isfinite(pred["phases"]["prefill"]["time_s"])


def test_eager_kernel_counts_match_a_real_capture() -> None:
    """EAGER_KINDS (data) against the kernels per operator instance nsys saw in the built-in eager
    workload (H200, Llama-3-8B, 2 layers, 16 decode steps)."""
    from rooflens.analysis.compare import compare
    from rooflens.pipeline import analyse_inputs
    from rooflens.predict.attainable import EAGER_KINDS

    run = Path(__file__).parents[1] / "fixtures" / "accuracy" / "h200_eager" / "llama-3-8b_b1_i128"
    inp = analyse_inputs([run], {"calibration": "none"}, None, None)
    rows = compare(inp["prediction"], inp["timeline"], inp["kernels"], inp["measured"], inp["gpu"])
    per_model = {"embedding", "final_norm", "sampling"}
    checked = 0
    for o in rows["operators"]:
        if o["phase"] != "decode" or o["name"] not in EAGER_KINDS or not o["kernel_count"]:
            continue
        instances = 16 * (1 if o["name"] in per_model else 2)
        _, _, per_call = EAGER_KINDS[o["name"]]
        calls = 2 if o["name"] in ("rope", "kv_cache_write") else 1
        assert o["kernel_count"] / instances == per_call * calls, o["name"]
        checked += 1
    assert checked >= 9


def test_context_then_cold_eager_curves_are_preferred_when_the_file_has_them() -> None:
    arch = load_architecture("llama-3-8b")
    wl = _wl(1, 128, 1, 1)
    norm = lambda p: next(r for r in p.operators if r.name == "attn_norm" and r.phase == "prefill")  # noqa: E731
    cases = ((1e-9, 1e-6, 2e-6, 1.5e-6), (1e-3, 3e-6, 4e-6, 3.5e-6))
    for host_s, warm_only, with_cold, with_context in cases:
        doc = _synthetic(4.8e12, 1e-6, 3e-6, host_s)
        sizes = doc["eager"]["back_to_back"]["rms_norm"]["bytes"]
        assert norm(predict(arch, H200, wl, from_dict(doc, Path("w.json")))).attainable_time_s == (
            pytest.approx(warm_only)
        )
        doc["eager"]["cold"] = {"rms_norm": {"bytes": sizes, "time_s": [2e-6, 2e-6 * (1 + 1e-9)]}}
        doc["eager"]["cold_isolated"] = {
            "rms_norm": {"bytes": sizes, "time_s": [4e-6, 4e-6 * (1 + 1e-9)]}
        }
        # device-bound (1 ns host calls): cold back to back; launch-bound (1 ms): cold isolated
        got = norm(predict(arch, H200, wl, from_dict(doc, Path("c.json")))).attainable_time_s
        assert got == pytest.approx(with_cold)
        for regime, t in (("context", 1.5e-6), ("context_isolated", 3.5e-6)):
            doc["eager"][regime] = {"rms_norm": {"bytes": sizes, "time_s": [t, t * (1 + 1e-9)]}}
        got = norm(predict(arch, H200, wl, from_dict(doc, Path("x.json")))).attainable_time_s
        assert got == pytest.approx(with_context)


def test_the_loader_reads_every_regime_the_benchmark_writes() -> None:
    from rooflens.capture.calibrate_eager import REGIMES
    from rooflens.hardware.calibration import EAGER_REGIMES

    written = [r[0] for r in REGIMES]
    assert set(written) <= set(EAGER_REGIMES)  # older files' "cold" is still read
    assert [r for r in EAGER_REGIMES if r in written] == written  # in the loader's order


def test_a_broken_cold_curve_is_one_line() -> None:
    from rooflens.errors import InputError

    doc = _synthetic(4.8e12, 1e-6, 3e-6, 1e-9)
    doc["eager"]["cold"] = {"rms_norm": {"bytes": [2e3, 1e3], "time_s": [1e-6, 2e-6]}}
    with pytest.raises(InputError) as exc:
        from_dict(doc, Path("bad.json"))
    assert "eager.cold.rms_norm" in str(exc.value) and "\n" not in str(exc.value)


def test_host_per_operator_from_the_workload_replaces_the_composed_calls() -> None:
    from rooflens.predict.attainable import host_time, step_extra_host

    doc = _synthetic(4.8e12, 1e-6, 3e-6, 1e-6)
    composed = from_dict(copy.deepcopy(doc), Path("c.json")).host
    doc["host"]["ops"] = {
        "op_s": {"rope": 1.5e-4, "attention": 9e-5},
        "layer_extra_s": 2e-5,
        "step_extra_s": 4e-5,
    }
    cal = from_dict(doc, Path("o.json"))
    assert host_time("rope", cal.host) == 1.5e-4 and host_time("attention", cal.host) == 9e-5
    # not measured by the workload (Qwen3's q/k norm): still composed from calls
    assert host_time("qk_norm", cal.host) == host_time("qk_norm", composed)
    # marker of the phase range + per step + per layer
    assert step_extra_host(cal.host, 32) == pytest.approx(1e-6 + 4e-5 + 32 * 2e-5)
    # the run's host time grows by exactly those differences, in every step (1 layer, 5 steps)
    arch, wl = load_architecture("llama-3-8b"), _wl(1, 128, 5, 1)
    before = predict(arch, H200, wl, from_dict(_synthetic(4.8e12, 1e-6, 3e-6, 1e-6), Path("c")))
    after = predict(arch, H200, wl, cal)
    per_step = (
        (1.5e-4 - host_time("rope", composed))
        + (9e-5 - host_time("attention", composed))
        + (step_extra_host(cal.host, 1) - step_extra_host(composed, 1))
    )
    grew = after.run_timeline["eager"]["host_time_s"] - before.run_timeline["eager"]["host_time_s"]  # type: ignore[index]
    assert grew == pytest.approx(5 * per_step, rel=1e-6)


@pytest.mark.parametrize(
    "ops",
    [
        {"op_s": {"rope": -1e-6}, "layer_extra_s": 0.0, "step_extra_s": 0.0},
        {"op_s": {"rope": 1e-6}, "layer_extra_s": "fast", "step_extra_s": 0.0},
        {"op_s": {"rope": 1e-6}, "step_extra_s": 0.0},
        {"op_s": {"rope": float("nan")}, "layer_extra_s": 0.0, "step_extra_s": 0.0},
    ],
)
def test_a_broken_host_operator_section_is_one_line(ops: dict) -> None:
    from rooflens.errors import InputError

    doc = _synthetic(4.8e12, 1e-6, 3e-6, 1e-9)
    doc["host"]["ops"] = ops
    with pytest.raises(InputError) as exc:
        from_dict(doc, Path("bad.json"))
    assert "host.ops" in str(exc.value) and "\n" not in str(exc.value)


def test_row_wise_kernels_read_the_curve_of_the_nearest_row_width() -> None:
    doc = _synthetic(4.8e12, 1e-6, 3e-6, 1e-9)
    sizes = doc["eager"]["back_to_back"]["rms_norm"]["bytes"]
    flat = lambda t: {"bytes": sizes, "time_s": [t, t * (1 + 1e-9)]}  # noqa: E731
    doc["eager"]["reference"] = {"h": 4096, "vocab": 128256}
    doc["eager"]["back_to_back"]["rms_norm@1024"] = flat(0.4e-6)
    doc["eager"]["back_to_back"]["rms_norm@128"] = flat(0.2e-6)
    cal = from_dict(doc, Path("w.json"))
    assert cal.eager_time("rms_norm", 1e4) == pytest.approx(1e-6)  # no width: the reference
    assert cal.eager_time("rms_norm", 1e4, width=4096) == pytest.approx(1e-6)
    assert cal.eager_time("rms_norm", 1e4, width=3584) == pytest.approx(1e-6)
    assert cal.eager_time("rms_norm", 1e4, width=1024) == pytest.approx(0.4e-6)
    assert cal.eager_time("rms_norm", 1e4, width=896) == pytest.approx(0.4e-6)
    assert cal.eager_time("rms_norm", 1e4, width=128) == pytest.approx(0.2e-6)
    # a kind without widths ignores the argument
    assert cal.eager_time("add", 1e4, width=1024) is None  # (no eager add curve in this file)
    # predictions: Qwen3-0.6B's norms (hidden 1024) and q/k norms (head size 128) take theirs
    wl = _wl(1, 128, 1, 1)
    small = predict(load_architecture("qwen3-0.6b"), H200, wl, cal)
    rows = {r.name: r for r in small.operators if r.phase == "prefill"}
    assert rows["attn_norm"].attainable_time_s == pytest.approx(
        max(0.4e-6, rows["attn_norm"].time_s)
    )
    big = predict(load_architecture("llama-3-8b"), H200, wl, cal)
    norm = next(r for r in big.operators if r.name == "attn_norm" and r.phase == "prefill")
    assert norm.attainable_time_s == pytest.approx(1e-6)


def test_a_broken_width_curve_is_one_line() -> None:
    from rooflens.errors import InputError

    doc = _synthetic(4.8e12, 1e-6, 3e-6, 1e-9)
    doc["eager"]["back_to_back"]["argmax@32000"] = {"bytes": [2e3, 1e3], "time_s": [1e-6, 2e-6]}
    with pytest.raises(InputError) as exc:
        from_dict(doc, Path("bad.json"))
    assert "eager.back_to_back.argmax@32000" in str(exc.value) and "\n" not in str(exc.value)


def test_the_benchmark_measures_widths_of_the_kinds_the_loader_knows() -> None:
    from rooflens.capture.calibrate_eager import REF, WIDTHS
    from rooflens.hardware.calibration import WIDTH_KEYS

    assert set(WIDTHS) == set(WIDTH_KEYS) and all(WIDTH_KEYS[k] in REF for k in WIDTHS)


def _with_ops(doc: dict, layer_extra_s: float = 2e-5, **extra: object) -> dict:
    doc["host"]["ops"] = {"op_s": {"rope": 1.5e-4}, "layer_extra_s": layer_extra_s,
                          "step_extra_s": 4e-5, **extra}  # fmt: skip
    return doc


def test_replayed_graph_steps_pay_no_per_layer_host_costs() -> None:
    # a replay runs no Python between layers: only the prefill (eager) pays them
    arch, wl = load_architecture("llama-3-8b"), _wl(1, 128, 5, 2)
    doc = _synthetic(4.8e12, 1e-6, 3e-6, 1e-6)
    runs = [predict(arch, H200, wl, from_dict(_with_ops(copy.deepcopy(doc), x), Path("h")))
            for x in (2e-5, 1e-3)]  # fmt: skip
    grew = {m: runs[1].run_timeline[m]["host_time_s"] - runs[0].run_timeline[m]["host_time_s"]  # type: ignore[index]
            for m in ("eager", "cuda_graph")}  # fmt: skip
    assert grew["eager"] == pytest.approx(5 * 2 * (1e-3 - 2e-5))  # every step, every layer
    assert grew["cuda_graph"] == pytest.approx(1 * 2 * (1e-3 - 2e-5))  # the prefill only


def test_host_spread_gives_a_bubble_range_around_the_median_process() -> None:
    arch, wl = load_architecture("llama-3-8b"), _wl(8, 128, 9, 2)
    doc = _with_ops(_synthetic(4.8e12, 1e-6, 3e-6, 1e-6), layer_s=6e-4,
                    process_layer_s=[5e-4, 6e-4, 9e-4])  # fmt: skip
    cal = from_dict(doc, Path("s.json"))
    assert cal.host.spread == pytest.approx((5 / 6, 1.5))
    rt = predict(arch, H200, wl, cal).run_timeline
    assert rt is not None
    for mode in ("eager", "cuda_graph"):
        est = rt[mode]
        lo, hi = est["bubble_ratio_range"]
        assert lo <= est["bubble_ratio"] <= hi  # a slower host can only idle the GPU more
        hlo, hhi = est["host_time_range_s"]
        assert hlo == pytest.approx(est["host_time_s"] * 5 / 6)
        assert hhi == pytest.approx(est["host_time_s"] * 1.5)
    # one process measured: no range
    single = predict(
        arch, H200, wl, from_dict(_with_ops(_synthetic(4.8e12, 1e-6, 3e-6, 1e-6)), Path("o"))
    )
    assert "bubble_ratio_range" not in single.run_timeline["eager"]  # type: ignore[index]


def test_at_the_run_host_speed_the_bubble_follows_the_measured_host_time() -> None:
    arch, wl = load_architecture("llama-3-8b"), _wl(8, 128, 9, 2)
    cal = from_dict(_with_ops(_synthetic(4.8e12, 1e-6, 3e-6, 1e-6)), Path("r.json"))
    base = predict(arch, H200, wl, cal).run_timeline["eager"]  # type: ignore[index]
    host = base["host_time_s"]
    same = predict(arch, H200, wl, cal, measured_host_s=host).run_timeline["eager"]["at_run_host"]  # type: ignore[index]
    assert same["host_scale"] == pytest.approx(1.0)
    assert same["bubble_ratio"] == pytest.approx(base["bubble_ratio"])
    bubbles = [
        predict(arch, H200, wl, cal, measured_host_s=host * f).run_timeline["eager"]["at_run_host"][
            "bubble_ratio"
        ]  # type: ignore[index]
        for f in (0.25, 1.0, 4.0, 16.0)
    ]
    assert bubbles == sorted(bubbles) and bubbles[-1] > bubbles[0]  # slower host, more idle GPU
    # far slower than the device: the window is the host's, the bubble 1 − device / host
    dev = base["device_time_s"]
    assert bubbles[-1] == pytest.approx(1 - dev / (16 * host), abs=0.02)


@pytest.mark.parametrize(
    ("field", "value"),
    [("process_layer_s", v) for v in ([], [5e-4, -1.0], "fast", [5e-4, float("inf")])]
    + [("probe_layer_s", v) for v in (0.0, -1e-4, "fast", float("nan"))],
)
def test_a_broken_host_process_list_or_probe_is_one_line(field: str, value: object) -> None:
    from rooflens.errors import InputError

    doc = _with_ops(_synthetic(4.8e12, 1e-6, 3e-6, 1e-9), layer_s=6e-4, **{field: value})
    with pytest.raises(InputError) as exc:
        from_dict(doc, Path("bad.json"))
    assert f"host.ops.{field}" in str(exc.value) and "\n" not in str(exc.value)


def test_plain_host_costs_take_the_spread_measured_under_nsys() -> None:
    doc = _with_ops(_synthetic(4.8e12, 1e-6, 3e-6, 1e-6))
    doc["host_nsys"] = copy.deepcopy(doc["host"])
    doc["host_nsys"]["ops"].update(layer_s=6e-4, process_layer_s=[6e-4, 3e-4, 1.2e-3])
    cal = from_dict(doc, Path("n.json"))
    assert cal.host_nsys is not None and cal.host_nsys.spread == pytest.approx((0.5, 2.0))
    assert cal.host.spread == cal.host_nsys.spread


def _tp_row(cal_doc: dict, tp: int, phase: str = "prefill"):  # type: ignore[no-untyped-def]
    wl = Workload(4, 512, 2, Precision.parse("bf16"), 1, tp=tp)
    pred = predict(load_architecture("llama-3-8b"), H200, wl, from_dict(cal_doc, Path("tp.json")))
    return next(r for r in pred.operators if r.name == "all_reduce" and r.phase == phase)


def test_all_reduce_never_beats_the_link_roofline() -> None:
    # no measured all-reduce (one GPU calibrated): the link's roofline, not a kernel's minimum
    row = _tp_row(_synthetic(4.8e12, 1e-6, 3e-6, 1e-9), tp=2)
    assert row.comm_time_s > 1e-6
    assert row.attainable_time_s == pytest.approx(row.time_s)


def test_all_reduce_reads_the_curve_measured_on_as_many_gpus() -> None:
    doc = _synthetic(4.8e12, 1e-6, 3e-6, 1e-9)
    sizes = [4096.0, 1 << 30]
    doc["allreduce"] = {"gpus": 2, "bytes": sizes, "time_s": [2e-5, 1.0]}  # slow: above the link
    row = _tp_row(doc, tp=2)
    message = 4 * 512 * 4096 * 2  # prefill tokens × hidden × bf16 bytes, per all-reduce
    cal = from_dict(doc, Path("c.json"))
    assert row.attainable_time_s == pytest.approx(
        2 * cal.allreduce_time(message, 2)
    )  # two per layer
    assert row.attainable_time_s > row.time_s
    # measured on 2 GPUs, predicted for 4: bus bandwidth depends on the count, the link roofline holds
    four = _tp_row(doc, tp=4)
    assert cal.allreduce_time(message, 4) is None
    assert four.attainable_time_s == pytest.approx(four.time_s)


@pytest.mark.parametrize(
    "ar",
    [
        {"gpus": 1, "bytes": [4096], "time_s": [1e-5]},
        {"gpus": 2, "bytes": [4096, 1024], "time_s": [1e-5, 2e-5]},
        {"gpus": "two", "bytes": [4096], "time_s": [1e-5]},
        {"bytes": [4096], "time_s": [1e-5]},
    ],
)
def test_a_broken_allreduce_section_is_one_line(ar: dict) -> None:
    from rooflens.errors import InputError

    doc = _synthetic(4.8e12, 1e-6, 3e-6, 1e-9)
    doc["allreduce"] = ar
    with pytest.raises(InputError) as exc:
        from_dict(doc, Path("bad.json"))
    assert "allreduce" in str(exc.value) and "\n" not in str(exc.value)


def test_a_skipped_allreduce_leaves_no_curve() -> None:
    doc = _synthetic(4.8e12, 1e-6, 3e-6, 1e-9)
    doc["allreduce"] = {"skipped": "1 GPU visible: all-reduce bus bandwidth needs at least 2"}
    assert from_dict(doc, Path("s.json")).allreduce_curve is None


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(st.floats(0, 1e-4), st.floats(0, 1e-4), st.integers(0, 6)),
        min_size=1,
        max_size=30,
    ),
    st.floats(0, 1e-3),
    st.floats(0, 1e-3),
)
def test_the_array_simulation_equals_the_kernel_by_kernel_recurrence(
    ops: list[tuple[float, float, int]], h0: float, d0: float
) -> None:
    from rooflens.predict.attainable import _Sim, _StepArrays

    # kernel by kernel: the host spends its share, the kernel starts when device and launch are ready
    h, d, busy = h0, d0, 0.0
    for host, dev, k in ops:
        if k == 0:
            h += host
            continue
        for _ in range(k):
            h += host / k
            d = max(d, h) + dev / k
        busy += dev
    sim = _Sim(h=h0, d=d0)
    sim.eager(_StepArrays.of([o[0] for o in ops], [o[2] for o in ops]),
              np.array([o[1] for o in ops]))  # fmt: skip
    assert sim.h == pytest.approx(h, rel=1e-9, abs=1e-15)
    assert sim.d == pytest.approx(d, rel=1e-9, abs=1e-15)
    assert sim.busy == pytest.approx(busy, rel=1e-9, abs=1e-15)
    assert sim.kernels == sum(k for _, _, k in ops)


def test_the_probe_reference_is_the_median_process_ratio() -> None:
    # layer time per probe second 1.5, 1.0, 2.0: median 1.5 → reference 6e-4 / 1.5
    doc = _with_ops(_synthetic(4.8e12, 1e-6, 3e-6, 1e-6), layer_s=6e-4, probe_layer_s=9e-4,
                    process_layer_s=[6e-4, 5e-4, 8e-4],
                    process_probe_layer_s=[4e-4, 5e-4, 4e-4])  # fmt: skip
    assert from_dict(doc, Path("p.json")).host.probe_layer_s == pytest.approx(4e-4)
    # one process: its own probe
    one = _with_ops(_synthetic(4.8e12, 1e-6, 3e-6, 1e-6), layer_s=6e-4, probe_layer_s=9e-4)
    assert from_dict(one, Path("o.json")).host.probe_layer_s == pytest.approx(9e-4)
    older = _with_ops(_synthetic(4.8e12, 1e-6, 3e-6, 1e-6), layer_s=6e-4)
    assert from_dict(older, Path("n.json")).host.probe_layer_s is None


def test_the_probed_host_scales_every_host_cost_by_probe_over_reference() -> None:
    arch, wl = load_architecture("llama-3-8b"), _wl(8, 128, 9, 2)
    cal = from_dict(_with_ops(_synthetic(4.8e12, 1e-6, 3e-6, 1e-6), layer_s=6e-4,
                              probe_layer_s=5e-4), Path("r.json"))  # fmt: skip
    base = predict(arch, H200, wl, cal).run_timeline["eager"]  # type: ignore[index]
    assert "at_probed_host" not in base  # no probe, no probed prediction
    for f in (1.0, 0.5, 3.0):
        est = predict(arch, H200, wl, cal, probe_layer_s=5e-4 * f).run_timeline["eager"]  # type: ignore[index]
        got = est["at_probed_host"]
        assert got["host_scale"] == pytest.approx(f)
        assert got["host_time_s"] == pytest.approx(f * base["host_time_s"])
        if f == 1.0:
            assert got["bubble_ratio"] == pytest.approx(base["bubble_ratio"])
    slow = predict(arch, H200, wl, cal, probe_layer_s=1.5e-3).run_timeline["eager"][
        "at_probed_host"
    ]  # type: ignore[index]
    assert slow["bubble_ratio"] > base["bubble_ratio"]  # a slower host idles the GPU more


def test_a_plain_mlp_activation_is_one_kernel_and_a_layernorm_model_plans_layer_norms() -> None:
    from rooflens.predict import ops as g
    from rooflens.predict.attainable import op_time

    opt = load_architecture("opt-6.7b")
    wl = _wl(4, 256, 2)
    dm, st = g.make_dims(opt, wl), g.prefill_step(opt, wl)
    layer = {op.name: op for op in g.layer_ops(opt, dm, st, False)}
    assert layer["act"].kernels_as == "act_plain" and layer["attn_norm"].kernels_as == "layer_norm"
    cal = bundled_for(H200.key)
    assert cal is not None
    act = op_time(layer["act"], st, dm, "fp16", cal, H200, False)
    assert act.kernels == 1  # one GELU kernel, not SiLU and a multiply
    norm = op_time(layer["attn_norm"], st, dm, "fp16", cal, H200, False)
    # the calibrated LayerNorm at this shape, not the RMSNorm curve
    nbytes = float(layer["attn_norm"].bytes)
    want = cal.eager_time("layer_norm", nbytes, width=float(dm.h))
    rms = cal.eager_time("rms_norm", nbytes, width=float(dm.h))
    assert want is not None and rms is not None and want != pytest.approx(rms)
    assert float(norm.time_s) == pytest.approx(want)
    llama = load_architecture("llama-3-8b")
    ldm = g.make_dims(llama, wl)
    lrow = {op.name: op for op in g.layer_ops(llama, ldm, g.prefill_step(llama, wl), False)}
    assert lrow["act"].kernels_as is None and lrow["attn_norm"].kernels_as is None


def test_a_file_without_layer_norm_curves_reads_the_rms_norm_ones() -> None:
    from rooflens.predict import ops as g
    from rooflens.predict.attainable import op_time

    doc = _synthetic(4.8e12, 2e-6, 3e-6, 1e-9)  # eager rms_norm only, flat at 2 µs
    cal = from_dict(doc, Path("old.json"))
    opt, wl = load_architecture("opt-6.7b"), _wl(1, 16, 2)
    dm, st = g.make_dims(opt, wl), g.prefill_step(opt, wl)
    norm = next(op for op in g.layer_ops(opt, dm, st, False) if op.name == "attn_norm")
    assert float(op_time(norm, st, dm, "fp16", cal, H200, False).time_s) == pytest.approx(2e-6)


def test_bf16_attention_reads_the_fp16_tables_when_only_they_were_measured() -> None:
    cal = bundled_for(H200.key)
    assert cal is not None
    args = ("decode", 8, 32, 8, 128, np.array([1000.0]))
    fp16 = cal.attention_time("fp16", *args)
    only16 = copy.copy(cal)
    object.__setattr__(only16, "attention", {"fp16": cal.attention["fp16"]})
    assert only16.attention_time("bf16", *args) == pytest.approx(fp16)


def test_decode_attention_is_calibrated_one_position_past_each_tile() -> None:
    from rooflens.capture.calibrate import ATT_DECODE_KV, DECODE_PAST_TILE, _attention_grid

    one = next(lens for phase, b, lens in _attention_grid(32) if phase == "decode" and b == 1)
    assert one == sorted({*ATT_DECODE_KV, *(L + DECODE_PAST_TILE for L in ATT_DECODE_KV)})
    # and the bundled file measured the step: past the tile costs more at short KV lengths
    cal = bundled_for(H200.key)
    assert cal is not None
    t = [cal.attention_time("fp16", "decode", 1, 32, 8, 128, L) for L in (128, 129)]
    assert t[1] > t[0]
