"""Readers on the real H200 captures (tests/fixtures): expected values from SQL / json / csv written here."""

from __future__ import annotations

import csv
import json
import sqlite3
from pathlib import Path

import pytest

from rooflens.analysis.kernels import kernel_flops, tensor_flops_by_dtype
from rooflens.traces import load_ncu, load_timeline, sniff

FIX = Path(__file__).resolve().parents[1] / "fixtures"
PREFILL = FIX / "h200_llama3_8b_prefill"
SQLITE = [
    FIX / f"h200_llama3_8b_{d}" / "timeline.sqlite"
    for d in ("prefill", "decode16_eager", "decode16_graph")
]

pytestmark = pytest.mark.skipif(not PREFILL.exists(), reason="real fixtures not present")


def _sql(path: Path, query: str) -> list[tuple]:  # type: ignore[type-arg]
    con = sqlite3.connect(path)
    try:
        return con.execute(query).fetchall()
    finally:
        con.close()


@pytest.mark.parametrize("path", SQLITE, ids=lambda p: p.parent.name)
def test_nsys_kernels_and_ranges_match_sql(path: Path, reader_backend: str) -> None:
    t = load_timeline(path)
    t.self_check()
    ((n, total_ns),) = _sql(
        path, "SELECT COUNT(*), SUM(end - start) FROM CUPTI_ACTIVITY_KIND_KERNEL"
    )
    assert len(t.kernels) == n
    assert float((t.kernels.end_s - t.kernels.start_s).sum()) == pytest.approx(
        total_ns * 1e-9, rel=1e-12
    )
    ((nr,),) = _sql(
        path, "SELECT COUNT(*) FROM NVTX_EVENTS WHERE eventType IN (59, 60) AND end IS NOT NULL"
    )
    assert len(t.ranges) == nr
    ((first, name),) = _sql(
        path,
        "SELECT k.start, s.value FROM CUPTI_ACTIVITY_KIND_KERNEL k JOIN StringIds s ON s.id = k.demangledName "
        "ORDER BY k.start LIMIT 1",
    )
    assert t.kernels.start_s[0] == pytest.approx(first * 1e-9, rel=1e-15)
    assert t.strings[t.kernels.name_id[0]] == name
    ((gname, bw, sms, l2),) = _sql(
        path, "SELECT name, memoryBandwidth, smCount, l2CacheSize FROM TARGET_INFO_GPU"
    )
    g = t.gpus[0]
    assert (g.name, g.memory_bandwidth_bps, g.sm_count, g.l2_cache_bytes) == (
        gname,
        float(bw),
        sms,
        l2,
    )


def test_nsys_launch_threads_decode_from_global_tid(reader_backend: str) -> None:
    path = SQLITE[0]
    t = load_timeline(path)
    rows = _sql(
        path,
        "SELECT DISTINCT globalTid / 16777216 % 16777216, globalTid % 16777216 FROM CUPTI_ACTIVITY_KIND_RUNTIME",
    )
    assert {(int(p), int(x)) for p, x in zip(t.launches.pid, t.launches.tid, strict=True)} == set(
        rows
    )


def test_kineto_counts_match_the_json(reader_backend: str) -> None:
    doc = json.loads((PREFILL / "trace.json").read_text())
    ev = doc["traceEvents"]
    kernels = [e for e in ev if e.get("cat") == "kernel" and e.get("ph") == "X"]
    annotations = [e for e in ev if e.get("cat") == "user_annotation" and e.get("ph") == "X"]
    t = load_timeline(PREFILL / "trace.json")
    t.self_check()
    assert len(t.kernels) == len(kernels)
    assert len(t.ranges) == len(annotations)
    assert float((t.kernels.end_s - t.kernels.start_s).sum()) == pytest.approx(
        sum(e["dur"] for e in kernels) * 1e-6
    )
    assert t.gpus[0].name == doc["deviceProperties"][0]["name"]
    assert t.gpus[0].sm_count == doc["deviceProperties"][0]["numSms"]


def _csv(path: Path) -> tuple[list[str], list[str], list[list[str]]]:
    lines = [ln for ln in path.read_text().splitlines() if ln.startswith('"')]
    rows = list(csv.reader(lines))
    return rows[0], rows[1], rows[2:]


def test_ncu_csv_native_units_including_tbyte_per_s() -> None:
    header, units, rows = _csv(PREFILL / "kernels.csv")
    col = {h: i for i, h in enumerate(header)}
    assert units[col["dram__bytes.sum.per_second"]] == "Tbyte/s"
    assert units[col["gpu__time_duration.sum"]] == "us"
    ncu = load_ncu(PREFILL / "kernels.csv")
    assert len(ncu.kernels) == len(rows) == 28
    assert ncu.device_name == "NVIDIA H200"
    for k, row in zip(ncu.kernels, rows, strict=True):
        m = k.metrics
        raw = float(row[col["dram__bytes.sum.per_second"]].replace(",", ""))
        assert m["dram__bytes.sum.per_second"] == pytest.approx(raw * 1e12)
        assert m["gpu__time_duration.sum"] == pytest.approx(
            float(row[col["gpu__time_duration.sum"]]) * 1e-6
        )
        assert k.nvtx[0] == "Run[2]"


def test_ncu_csv_native_and_base_units_agree() -> None:
    native = load_ncu(PREFILL / "kernels.csv").kernels
    base = load_ncu(PREFILL / "kernels_base.csv").kernels
    header, units, _ = _csv(PREFILL / "kernels_base.csv")
    assert units[header.index("dram__bytes.sum.per_second")] == "byte/s"
    keys = (
        "gpu__time_duration.sum",
        "dram__bytes_read.sum",
        "dram__bytes_write.sum",
        "dram__bytes.sum.per_second",
    )
    for a, b in zip(native, base, strict=True):
        for key in keys:
            # the native export prints 6 decimals of its unit: 1 Mbyte shows as 0.000001 Gbyte
            assert a.metrics[key] == pytest.approx(
                b.metrics[key], rel=2e-3, abs=1e3 if "bytes_" in key else 0
            )


def test_tensor_flop_counters_count_two_per_fma() -> None:
    ncu = load_ncu(FIX / "h200_flopcheck" / "flopcheck_ncu.csv")
    gemm = 2 * 4096**3  # one 4096^3 GEMM: 4096^3 multiply-adds, 2 FLOP each
    assert [kernel_flops(k.metrics) for k in ncu.kernels] == [gemm, gemm, gemm]
    used = [
        max(tensor_flops_by_dtype(k.metrics).items(), key=lambda kv: kv[1])[0] for k in ncu.kernels
    ]
    assert used == ["fp16", "bf16", "fp8"]


def test_sniffing_of_every_fixture() -> None:
    assert sniff(SQLITE[0]) == "nsys-sqlite"
    assert sniff(PREFILL / "trace.json") == "kineto"
    assert sniff(PREFILL / "kernels.csv") == "ncu-csv"
    assert sniff(FIX / "h200_flopcheck" / "flopcheck_ncu.csv") == "ncu-csv"
