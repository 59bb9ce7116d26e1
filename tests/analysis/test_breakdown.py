"""Per-step and per-layer figures of a real run (h200_llama3_8b_decode16_eager: prefill + 15 decode steps)."""

from __future__ import annotations

from pathlib import Path

import pytest

import rooflens
from rooflens.hardware import lookup
from rooflens.model import load_architecture
from rooflens.predict import Precision, Workload, predict
from rooflens.predict.steps import decode_step_times

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "h200_llama3_8b_decode16_eager"


@pytest.fixture(scope="module")
def doc() -> dict:
    return rooflens.analyze(FIX).doc


def test_steps_cover_the_chosen_run(doc: dict) -> None:
    steps = doc["breakdown"]["steps"]
    assert [s["phase"] for s in steps] == ["prefill"] + [f"decode[{k}]" for k in range(1, 16)]
    run = next(r for r in doc["timeline"]["runs"] if r["name"] == doc["timeline"]["chosen_run"])
    assert sum(s["kernel_count"] for s in steps) == run["kernel_count"]
    assert sum(s["measured_time_s"] for s in steps) == pytest.approx(run["kernel_time_s"])
    assert steps[0]["predicted_time_s"] == doc["prediction"]["phases"]["prefill"]["time_s"]


def test_predicted_steps_sum_to_the_decode_total() -> None:
    wl = Workload(1, 128, 16, Precision.parse("W16A16KV16"), layers=1)
    arch, gpu = load_architecture("llama-3-8b"), lookup("H200")
    times = decode_step_times(arch, gpu, wl)
    total = predict(arch, gpu, wl).phases["decode_total"]
    assert len(times) == total.steps == 15
    assert sum(times) == pytest.approx(total.time_s)
    assert all(b >= a for a, b in zip(times, times[1:], strict=False))  # KV grows: never faster
    first = predict(arch, gpu, wl).phases["decode_first_token"].time_s
    assert times[0] == pytest.approx(first)


def test_layers_row(doc: dict) -> None:
    (row,) = doc["breakdown"]["layers"]  # one layer captured
    layer_kernels = [k for k in doc["timeline"]["kernels"] if k["layer"] == 0]
    assert row["kernel_count"] == len(layer_kernels)
    assert row["prefill_time_s"] + row["decode_time_s"] == pytest.approx(
        sum(k["duration_s"] for k in layer_kernels)
    )
    ops = [
        o
        for o in doc["prediction"]["operators"]
        if o["layer"] is not None and o["phase"] == "prefill"
    ]
    assert row["predicted_prefill_time_s"] == pytest.approx(sum(o["time_s"] for o in ops))
