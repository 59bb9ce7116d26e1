"""Calibration files: schema validation, interpolation properties, bundled lookup."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import numpy as np
import pytest

from rooflens.errors import InputError
from rooflens.hardware.calibration import (
    SCHEMA_NAME,
    SCHEMA_VERSION,
    Curve,
    bundled_for,
    bundled_paths,
    choose,
    from_dict,
    load,
)

H200 = "nvidia_H200_SXM_141G"


def minimal() -> dict:
    """The smallest valid document (hand-written, independent of any GPU)."""
    host = {
        k: 1e-5 for k in ("add", "mm", "rms_norm", "sdpa", "embedding", "slice_copy", "nvtx_range")
    }
    return {
        "schema": SCHEMA_NAME,
        "version": SCHEMA_VERSION,
        "key": {"gpu_name": "NVIDIA H200", "l2_bytes": 50 * 2**20},
        "host": {"eager_call_s": host, "graph_kernel_s": 1e-6, "graph_replay_host_s": 5e-6},
        "memory": {"add": {"bytes": [1e3, 1e6, 1e9], "time_s": [1e-6, 2e-6, 3e-4]}},
        "min_kernel_s": 1e-6,
        "gemm": {"fp16": [{"n": 4096, "k": 4096, "m": [1, 16, 256], "time_s": [1e-5, 1e-5, 2e-5]}]},
        "attention": {},
    }


def test_bundled_h200_loads_and_is_found_by_gpu_key() -> None:
    paths = bundled_paths()
    assert any(p.name == f"{H200}.json" for p in paths)
    cal = bundled_for(H200)
    assert cal is not None and "H200" in cal.gpu_name
    assert bundled_for("nvidia_H100_SXM5_80G") is None  # not measured: no H100 was lent


@pytest.mark.parametrize(
    ("edit", "says"),
    [
        (lambda d: d.update(schema="other"), "not a rooflens calibration file"),
        (lambda d: d.update(version=99), "schema version 99"),
        (lambda d: d["memory"]["add"].update(bytes=[1e3, 1e3, 1e9]), "increase strictly"),
        (lambda d: d["memory"]["add"].update(time_s=[1e-6, -1.0, 1e-4]), "finite and positive"),
        (lambda d: d["memory"]["add"].update(time_s=[1e-6]), "one length"),
        (lambda d: d["host"]["eager_call_s"].pop("mm"), "host.eager_call_s.mm"),
        (lambda d: d.pop("memory"), "lacks memory"),
        (lambda d: d["gemm"]["fp16"][0].update(n="4096"), "wrong type"),
    ],
)
def test_broken_documents_are_one_line_input_errors(edit, says: str) -> None:
    doc = copy.deepcopy(minimal())
    edit(doc)
    with pytest.raises(InputError) as err:
        from_dict(doc, Path("cal.json"))
    assert says in str(err.value) and "\n" not in str(err.value)


def test_load_reports_bad_json_and_missing_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{", encoding="utf-8")
    with pytest.raises(InputError, match="not valid JSON"):
        load(bad)
    with pytest.raises(InputError, match="no such calibration file"):
        load(tmp_path / "missing.json")


def test_curve_interpolates_in_log_space() -> None:
    c = Curve(np.array([1.0, 4.0]), np.array([1.0, 16.0]))
    assert c.at(2.0) == pytest.approx(4.0)  # log-log line y = x² through the two points
    assert c.at(0.5) == pytest.approx(1.0)  # below the grid: the smallest measured time
    assert c.at(8.0) == pytest.approx(32.0)  # above: proportional to size (16 · 8/4)


def test_curve_is_monotone_even_when_a_measurement_dips() -> None:
    c = Curve(np.array([1.0, 2.0, 4.0, 8.0]), np.array([5.0, 3.0, 6.0, 7.0]))
    xs = np.geomspace(0.5, 20, 200)
    ys = c.at(xs)
    assert np.all(np.diff(ys) >= 0)
    assert c.at(2.0) == pytest.approx(5.0)  # the dip is lifted to the running maximum


def test_bundled_gemm_and_attention_grow_with_work() -> None:
    cal = bundled_for(H200)
    assert cal is not None
    ms = np.geomspace(1, 32768, 60)
    for n, k in ((6144, 4096), (28672, 4096), (4096, 14336), (128256, 4096)):
        t = [cal.gemm_time("fp16", m, n, k) for m in ms]
        assert all(b >= a for a, b in zip(t, t[1:], strict=False)), (n, k)
    keys = np.geomspace(16, 40000, 50)
    for phase in ("prefill", "decode"):
        t = cal.attention_time("fp16", phase, 8, 32, 8, 128, keys)
        assert np.all(np.diff(t) >= 0), phase
    t_batch = [
        cal.attention_time("fp16", "decode", b, 32, 8, 128, 2048.0) for b in (1, 3, 8, 20, 32, 64)
    ]
    assert all(b >= a for a, b in zip(t_batch, t_batch[1:], strict=False))


def test_choose_none_and_missing_gpu_and_file(tmp_path: Path) -> None:
    cal, note = choose("none", H200)
    assert cal is None and "ideal roofline" in note
    cal, note = choose(None, "nvidia_H100_SXM5_80G")
    assert cal is None and "no calibration for nvidia_H100_SXM5_80G" in note
    f = tmp_path / "c.json"
    f.write_text(json.dumps(minimal()), encoding="utf-8")
    cal, note = choose(str(f), "nvidia_H100_SXM5_80G")
    assert cal is not None and "c.json" in note


def test_a_much_faster_later_point_is_another_kernel_not_noise() -> None:
    # PyTorch's embedding: indexSelectSmallIndex up to 16 rows, a vectorized gather from 64 rows
    c = Curve(np.array([1.0, 4.0, 16.0, 64.0, 256.0]), np.array([2.0, 4.0, 11.5, 2.1, 2.8]))
    assert c.at(16.0) == pytest.approx(11.5)
    assert c.at(64.0) == pytest.approx(2.1)  # not lifted to the small-index kernel's 11.5
    xs = np.geomspace(64, 1000, 50)
    assert np.all(np.diff(c.at(xs)) >= 0)  # monotone again within the new kernel's range
    # a dip smaller than the switch factor stays noise and is lifted
    assert Curve(np.array([1.0, 2.0]), np.array([3.0, 1.1])).at(2.0) == pytest.approx(3.0)
