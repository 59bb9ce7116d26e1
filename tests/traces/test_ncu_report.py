"""The .ncu-rep reader against a stand-in for NVIDIA's ``ncu_report`` module (same API surface).

No small real .ncu-rep is committed yet (tests/fixtures/README.md): these tests pin the unit
conversion, NVTX state and rule-result extraction; the real-file test runs when one appears.
"""

from __future__ import annotations

import sys
import types
from pathlib import Path
from typing import Any

import pytest

from rooflens.errors import InputError, ToolMissingError
from rooflens.traces import load_ncu
from rooflens.traces.ncu_frames import NCU_MAGIC

FIX = Path(__file__).resolve().parents[1] / "fixtures"


class Metric:
    ValueKind_STRING, ValueKind_UINT32, ValueKind_UINT64, ValueKind_DOUBLE = 1, 2, 3, 4

    def __init__(self, value: Any, unit: str) -> None:
        self.v, self.u = value, unit

    def has_value(self) -> bool:
        return self.v is not None

    def kind(self) -> int:
        return (
            self.ValueKind_STRING
            if isinstance(self.v, str)
            else self.ValueKind_UINT64
            if isinstance(self.v, int)
            else self.ValueKind_DOUBLE
        )

    def as_string(self) -> str:
        return str(self.v)

    def as_uint64(self) -> int:
        return int(self.v)

    def as_double(self) -> float:
        return float(self.v)

    def unit(self) -> str:
        return self.u


class Domain:
    def push_pop_ranges(self) -> list[str]:
        return ["Run[2]", "prefill", "Layer[0]#Run[2]", "qkv_proj"]

    def start_end_ranges(self) -> list[str]:
        return []


class Nvtx:
    def domains(self) -> list[int]:
        return [0]

    def domain_by_id(self, _: int) -> Domain:
        return Domain()


class Rule:
    def __init__(self, msg_type: int, speedup: float | None) -> None:
        self.t, self.s = msg_type, speedup

    def has_rule_message(self) -> bool:
        return True

    def rule_message(self) -> Any:
        # ncu_report 2026.3 returns plain dicts (seen on the real fixture), older builds objects.
        return {"title": "", "type": self.t, "message": "  The kernel is\\n memory bound.  "}

    def has_speedup_estimation(self) -> bool:
        return self.s is not None

    def speedup_estimation(self) -> Any:
        return types.SimpleNamespace(speedup=self.s)  # the object form of older builds

    def rule_identifier(self) -> str:
        return "SOLBottleneck"

    def name(self) -> str:
        return "Bottleneck"


class Action:
    NameBase_DEMANGLED = 7
    METRICS = {
        "gpu__time_duration.sum": Metric(12_345.0, "nsecond"),
        "dram__bytes_read.sum": Metric(3, "Mbyte"),
        "dram__bytes.sum.per_second": Metric(2.5, "Tbyte/second"),
        "sm__throughput.avg.pct_of_peak_sustained_elapsed": Metric(81.5, "%"),
        "device__attribute_display_name": Metric("NVIDIA H200", ""),
        "derived__odd": Metric(1.0, "%/register"),  # not convertible: skipped, not fatal
    }

    def metric_names(self) -> list[str]:
        return list(self.METRICS)

    def metric_by_name(self, name: str) -> Metric:
        return self.METRICS[name]

    def name(self, base: int | None = None) -> str:
        return "void gemm<half>(half *)" if base == self.NameBase_DEMANGLED else "gemm"

    def nvtx_state(self) -> Nvtx:
        return Nvtx()

    def rule_results(self) -> list[Rule]:
        return [Rule(2, 23.5), Rule(1, None)]  # MsgType_OPTIMIZATION=2, MsgType_OK=1


#: The smallest well-framed report: magic, a 2-byte file header, no blocks (the fake module reads it).
STAND_IN = NCU_MAGIC + b"\x02\x00\x00\x00\x08\x07"


@pytest.fixture
def fake_module(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = types.SimpleNamespace(num_actions=lambda: 2, action_by_idx=lambda i: Action())
    ctx = types.SimpleNamespace(num_ranges=lambda: 1, range_by_idx=lambda i: rng)
    mod = types.ModuleType("ncu_report")
    mod.load_report = lambda path: ctx  # type: ignore[attr-defined]
    mod.IAction = Action  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "ncu_report", mod)


def test_metrics_nvtx_and_rules(tmp_path: Path, fake_module: None) -> None:
    p = tmp_path / "k.ncu-rep"
    p.write_bytes(STAND_IN)
    ncu = load_ncu(p)
    assert ncu.source == "ncu-rep" and len(ncu.kernels) == 2 and ncu.device_name == "NVIDIA H200"
    k = ncu.kernels[0]
    assert k.name == "gemm" and k.demangled_name == "void gemm<half>(half *)"
    assert k.metrics["gpu__time_duration.sum"] == pytest.approx(12.345e-6)  # nsecond
    assert k.metrics["dram__bytes_read.sum"] == pytest.approx(3e6)  # Mbyte
    assert k.metrics["dram__bytes.sum.per_second"] == pytest.approx(2.5e12)  # Tbyte/second
    assert k.metrics["sm__throughput.avg.pct_of_peak_sustained_elapsed"] == 81.5
    assert "derived__odd" not in k.metrics
    assert k.nvtx == ["Run[2]", "prefill", "Layer[0]#Run[2]", "qkv_proj"]
    opt, ok = k.rules
    assert (opt.rule, opt.kind, opt.estimated_speedup_pct) == (
        "SOLBottleneck",
        "optimization",
        23.5,
    )
    assert opt.message == "The kernel is\\n memory bound." and ok.kind == "ok"


def test_missing_module_says_how_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "ncu_report", None)
    p = tmp_path / "k.ncu-rep"
    p.write_bytes(STAND_IN)
    with pytest.raises(ToolMissingError, match=r"pip install 'rooflens\[ncu\]'"):
        load_ncu(p)


def test_unreadable_report_is_an_input_error(tmp_path: Path) -> None:
    pytest.importorskip("ncu_report")
    p = tmp_path / "garbage.ncu-rep"
    p.write_bytes(b"\x00garbage" * 100)
    with pytest.raises(InputError, match="garbage.ncu-rep"):
        load_ncu(p)


@pytest.mark.skipif(not list(FIX.glob("*/*.ncu-rep")), reason="no real .ncu-rep fixture committed")
def test_real_report_rule_results() -> None:
    pytest.importorskip("ncu_report")
    rep = load_ncu(FIX / "h200_llama3_8b_gemm_ncu" / "kernels.ncu-rep")
    assert [k.demangled_name[:10] for k in rep.kernels] == ["nvjet_sm90"] * 5
    first = {r.rule: r for r in rep.kernels[0].rules}
    grid = first["LaunchConfiguration"]
    # 128 blocks on 132 SMs: NCU estimates (132 - 128) / 132 = 3.03 % to gain.
    assert grid.kind == "optimization" and grid.estimated_speedup_pct == pytest.approx(
        100 * 4 / 132
    )
    assert grid.message.startswith(
        "Small Grid: The grid for this launch is configured to execute only 128 blocks"
    )
    assert (
        "@" not in first["SOLBottleneck"].message
    )  # NCU's @section:…@ markup is resolved to its title
    assert "Memory Workload Analysis section" in first["SOLBottleneck"].message
    # What fired each rule, as NCU states it: 128 blocks against 132 SMs.
    assert (grid.speedup_type, grid.focus_metric, grid.focus_value) == (
        "global",
        "launch__grid_size",
        128.0,
    )
    occ = first["TheoreticalOccupancy"]
    assert occ.speedup_type == "local"  # a section-level estimate, not the kernel's runtime


@pytest.mark.skipif(not list(FIX.glob("*/*.ncu-rep")), reason="no real .ncu-rep fixture committed")
def test_real_report_matches_its_csv_export() -> None:
    rep = next(FIX.glob("*/*.ncu-rep"))
    csv = rep.with_name("kernels.csv")
    a, b = load_ncu(rep), load_ncu(csv)
    assert len(a.kernels) == len(b.kernels)
    for x, y in zip(a.kernels, b.kernels, strict=True):
        assert x.metrics["gpu__time_duration.sum"] == pytest.approx(
            y.metrics["gpu__time_duration.sum"], rel=1e-3
        )


@pytest.mark.skipif(
    not (FIX / "h200_llama3_8b_gemm_ncu").exists(), reason="real .ncu-rep fixture absent"
)
def test_real_report_flops_and_nvtx_against_hand_counts() -> None:
    pytest.importorskip("ncu_report")
    from rooflens.analysis.kernels import kernel_flops

    folder = FIX / "h200_llama3_8b_gemm_ncu"
    rep, csv = load_ncu(folder / "kernels.ncu-rep"), load_ncu(folder / "kernels.csv")
    assert [k.nvtx for k in rep.kernels] == [k.nvtx for k in csv.kernels]
    t, h, kv, inter = 128, 4096, 1024, 14336  # Llama-3-8B, 128 prompt tokens
    want = {
        "qkv_proj": 2 * t * h * (h + 2 * kv),
        "o_proj": 2 * t * h * h,
        "gate_up_proj": 2 * t * h * 2 * inter,
        "down_proj": 2 * t * inter * h,
    }
    got = {k.nvtx[-1]: kernel_flops(k.metrics) for k in rep.kernels}
    for op, flops in want.items():
        assert got[op] == flops, op
    assert rep.device_name == "NVIDIA H200"


def test_impossible_metric_values_are_dropped_and_counted(
    tmp_path: Path, fake_module: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    metrics = dict(Action.METRICS)
    metrics["gpu__time_duration.sum"] = Metric(-5.0, "nsecond")  # a negative time
    metrics["dram__bytes_read.sum"] = Metric(float("inf"), "Mbyte")
    monkeypatch.setattr(Action, "METRICS", metrics)
    p = tmp_path / "k.ncu-rep"
    p.write_bytes(STAND_IN)
    ncu = load_ncu(p)
    for k in ncu.kernels:  # both of the fake's two kernels
        assert "gpu__time_duration.sum" not in k.metrics and "dram__bytes_read.sum" not in k.metrics
        assert k.metrics["dram__bytes.sum.per_second"] == pytest.approx(2.5e12)
    assert ncu.warnings == [
        "4 metric value(s) dropped as impossible (infinite, or a negative time, size or count)"
    ]


def test_abort_in_nvidias_reader_is_one_line_error(tmp_path: Path, fake_module: None) -> None:
    """NVIDIA's reader abort()s on some corrupt files (a failed protobuf check): the forked
    child dies, the parent says so in one line."""
    import os

    sys.modules["ncu_report"].load_report = lambda path: os.abort()  # type: ignore[attr-defined]
    p = tmp_path / "k.ncu-rep"
    p.write_bytes(STAND_IN)
    with pytest.raises(InputError, match="ncu_report died reading it"):
        load_ncu(p)
