"""compare(): scope of the measurement, per-operator rows, totals, unmatched kernels."""

from __future__ import annotations

from typing import Any

import pytest

from rooflens.analysis.compare import canonical_phase, compare

PEAK, BW = 1.0e15, 2.0e12  # round numbers so every expected figure below is mental arithmetic


def _op(
    name: str, phase: str, layer: int | None, flops: float, nbytes: float, count: int = 1
) -> dict[str, Any]:
    t = max(flops / PEAK, nbytes / BW)
    return {
        "name": name,
        "phase": phase,
        "layer": layer,
        "count": count,
        "flops": flops,
        "bytes": nbytes,
        "time_s": t,
        "bound": "compute" if flops / PEAK >= nbytes / BW else "memory",
    }


def _prediction() -> dict[str, Any]:
    return {
        "operators": [
            _op("q_proj", "prefill", 0, 2e9, 1e6),  # 2 us compute
            _op("k_proj", "prefill", 0, 1e9, 1e6),  # 1 us compute
            _op("attention", "prefill", 0, 1e6, 4e6),  # 2 us memory
            _op("q_proj", "prefill", 1, 2e9, 1e6),  # layer 1: not measured
            _op("lm_head", "prefill", None, 1e9, 2e9),  # per-model, not captured: 1 ms memory
            _op("q_proj", "decode", 0, 2e6, 1e6),  # decode: not measured
        ]
    }


def _kernel(
    i: int,
    name: str,
    dur: float,
    op: str | None,
    flops: float | None = None,
    nbytes: float | None = None,
) -> dict[str, Any]:
    return {
        "index": i,
        "name": name,
        "short_name": name,
        "duration_s": dur,
        "operator": op,
        "phase": "prefill",
        "layer": 0,
        "flops": flops,
        "dram_bytes": nbytes,
    }


def _timeline(kernels: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "chosen_run": "R",
        "runs": [{"name": "R", "range_duration_s": 20e-6}],
        "kernels": kernels,
    }


def test_scope_rows_and_totals() -> None:
    ks = [
        _kernel(0, "gemm_a", 4e-6, "qkv_proj"),
        _kernel(1, "flash_fwd", 3e-6, "attention"),
        _kernel(2, "copy_k", 1e-6, "copy"),
    ]
    out = compare(
        _prediction(),
        _timeline(ks),
        None,
        {"intensity": 100.0, "bound": "compute"},
        {"peak_flops": PEAK, "bandwidth_bps": BW},
    )
    assert out["scope"]["phases"] == ["prefill"] and out["scope"]["layer_count"] == 1
    assert out["scope"]["predicted_layer_count"] == 2
    rows = {(r["name"], r["phase"]): r for r in out["operators"]}
    assert set(rows) == {
        ("qkv_proj", "prefill"),
        ("attention", "prefill"),
    }  # no lm_head, no layer 1, no decode
    qkv = rows[("qkv_proj", "prefill")]
    assert qkv["predicted_time_s"] == pytest.approx(3e-6)  # q 2 us + k 1 us
    assert qkv["predicted_flops"] == pytest.approx(3e9) and qkv["predicted_bound"] == "compute"
    assert qkv["measured_time_s"] == pytest.approx(4e-6) and qkv["ratio"] == pytest.approx(4 / 3)
    assert qkv["measured_flops"] is None and qkv["roof_fraction"] is None  # no NCU data
    tot = out["total"]
    assert tot["predicted_time_s"] == pytest.approx(5e-6)
    assert tot["measured_time_s"] == pytest.approx(8e-6)  # every kernel of the run, copies included
    assert tot["performance_gap"] == pytest.approx(5 / 8 - 1)
    assert tot["run_performance_gap"] == pytest.approx(5 / 20 - 1)
    # predicted intensity (3e9 + 1e6) / (2e6 + 4e6) vs measured 100 FLOP/B
    assert tot["intensity_gap"] == pytest.approx(100.0 / ((3e9 + 1e6) / 6e6) - 1)
    assert tot["predicted_bound"] == "compute" and tot["bound_agrees"] is True
    assert out["unmatched_kernels"] == [
        {"index": 2, "short_name": "copy_k", "operator": "copy", "duration_s": 1e-6}
    ]


def test_ncu_counters_give_measured_flops_bytes_and_roof_fraction() -> None:
    tl = _timeline([_kernel(0, "gemm_a", 4e-6, "qkv_proj")])
    ncu = [{"index": 0, "flops": 2e9, "dram_bytes": 2e6}]
    out = compare(_prediction(), tl, ncu, None, {"peak_flops": PEAK, "bandwidth_bps": BW})
    row = next(r for r in out["operators"] if r["name"] == "qkv_proj")
    assert row["measured_flops"] == 2e9 and row["measured_bytes"] == 2e6
    assert row["roof_fraction"] == pytest.approx(2e-6 / 4e-6)  # roof time max(2 us, 1 us) / 4 us


def test_kernels_without_operator_are_classified_by_name() -> None:
    ks = [
        _kernel(0, "nvjet_hsh_128x256", 4e-6, None),
        _kernel(1, "flash_fwd_kernel", 3e-6, None),
        _kernel(2, "nvjet_hsh_128x256", 2e-6, None),
    ]
    for k in ks:
        k["layer"] = None
    out = compare(
        _prediction(), _timeline(ks), None, None, {"peak_flops": PEAK, "bandwidth_bps": BW}
    )
    assert [k["operator"] for k in out["kernel_operators"]] == ["qkv_proj", "attention", "o_proj"]
    assert all(k["source"] == "name" for k in out["kernel_operators"])
    assert out["scope"]["layer_count"] == 1  # one run of attention kernels = one layer
    assert [u["operator"] for u in out["unmatched_kernels"]] == ["o_proj"]  # not in this prediction


def test_count_rows_are_scaled_to_the_measured_layers() -> None:
    pred = {"operators": [_op("qkv_proj", "prefill", None, 32e9, 32e6, count=32)]}
    out = compare(
        pred,
        _timeline([_kernel(0, "g", 40e-6, "qkv_proj")]),
        None,
        None,
        {"peak_flops": PEAK, "bandwidth_bps": BW},
    )
    assert out["operators"][0]["predicted_time_s"] == pytest.approx(32e-6 / 32)


def test_phase_names() -> None:
    assert canonical_phase("decode[3]") == "decode"
    assert canonical_phase("decode_first_token") == "decode"
    assert canonical_phase(None) == "prefill" and canonical_phase("prefill") == "prefill"


def test_decode_steps_use_the_total_scaled_to_the_measured_steps() -> None:
    pred = {
        "phases": {"decode_total": {"steps": 4}},
        "operators": [
            _op("qkv_proj", "decode_first_token", 0, 1e6, 2e6),  # 1 us: ignored when a total exists
            _op("qkv_proj", "decode_total", 0, 4e6, 16e6),  # 8 us over 4 predicted steps
        ],
    }
    ks = [_kernel(i, "g", 3e-6, "qkv_proj") for i in range(2)]
    ks[0]["phase"], ks[1]["phase"] = "decode[1]", "decode[2]"  # 2 of the 4 steps captured
    out = compare(pred, _timeline(ks), None, None, {"peak_flops": PEAK, "bandwidth_bps": BW})
    (row,) = out["operators"]
    assert out["scope"]["decode_steps"] == 2
    assert row["phase"] == "decode" and row["predicted_time_s"] == pytest.approx(8e-6 * 2 / 4)
    assert row["measured_time_s"] == pytest.approx(6e-6)


def test_innermost_range_skips_structural_names() -> None:
    from rooflens.analysis.compare import innermost_range

    assert innermost_range(["Run[2]", "prefill", "sample"]) == "sample"
    assert innermost_range(["Run[2]", "decode[3]", "Layer[0]#Run[2]"]) is None
    assert innermost_range(["Run[1]/prefill/argmax"]) == "argmax"
    assert innermost_range([]) is None and innermost_range(None) is None


def test_unmatched_kernel_named_by_its_nvtx_range() -> None:
    # An argmax reduce kernel that neither NVTX operator nor its name maps: named `sample`.
    tl = {"kernels": [{"index": 0, "name": "void at::native::reduce_kernel<512>", "short_name": "reduce_kernel",
                       "duration_s": 3e-5, "operator": None, "phase": "prefill", "layer": None,
                       "nvtx": ["Run[2]", "prefill", "sample"]}]}  # fmt: skip
    comp = compare({"operators": []}, tl, None, None, {"peak_flops": PEAK, "bandwidth_bps": BW})
    assert comp["unmatched_kernels"][0]["operator"] == "sample"
    assert comp["kernel_operators"][0] == {"index": 0, "operator": "sample", "source": "nvtx_range"}


def _row(name: str, predicted: float, measured: float | None) -> dict[str, Any]:
    return {"name": name, "phase": "prefill", "predicted_flops": predicted, "measured_flops": measured}


def test_tensor_padding_note_only_for_gemms_counted_well_above_their_flops() -> None:
    from rooflens.analysis.compare import PADDING_RATIO, padding_notes

    ops = [
        _row("lm_head", 1.05e9, 8.4e9),  # M = 1 on an 8-row MMA tile (measured on the H200: 8.0x)
        _row("qkv_proj", 2.06e11, 2.06e11),
        _row("o_proj", 1e9, PADDING_RATIO * 1e9 * 0.99),  # just under the threshold
        _row("rope", 6.3e7, 6.6e8),  # not a tensor-core GEMM: FP counters count other things
        _row("down_proj", 1e9, None),  # no NCU counters
        _row("gate_up_proj", 0.0, 1e9),  # nothing predicted
    ]
    notes = padding_notes(ops)
    assert [(n["kind"], n["operator"], n["phase"]) for n in notes] == [
        ("tensor_padding", "lm_head", "prefill")
    ]
    assert notes[0]["flops_ratio"] == pytest.approx(8.4e9 / 1.05e9)
