"""NCU raw-page CSV: units row → SI, thousands separators, other pages refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from rooflens.errors import InputError
from rooflens.traces.ncu_csv import read_ncu_csv

HEADER = (
    '"ID","Process ID","Process Name","Host Name","Kernel Name","Context","Stream","Block Size",'
    '"Grid Size","Device","CC","device__attribute_display_name","dram__bytes_read.sum",'
    '"dram__bytes.sum.per_second","gpu__time_duration.sum","sm__throughput.avg.pct_of_peak_sustained_elapsed",'
    '"launch__registers_per_thread"\n'
)
UNITS = (
    '"","","","","","","","","","","","","Mbyte","Tbyte/second","usecond","%","register/thread"\n'
)
ROW = (
    '"0","123","python","h","nvjet_hsh_128x256_64x4_2x1_v_bz_coopA_TNN","1","7","(384, 1, 1)","(132, 1, 1)",'
    '"0","9.0","NVIDIA H100 80GB HBM3","1,048.58","2.41","12.35","87.5","168"\n'
)


def test_units_row_converts_every_value_once(tmp_path: Path) -> None:
    p = tmp_path / "raw.csv"
    p.write_text("==PROF== Disconnected\n" + HEADER + UNITS + ROW)
    ncu = read_ncu_csv(p)
    (k,) = ncu.kernels
    m = k.metrics
    assert m["dram__bytes_read.sum"] == pytest.approx(1048.58e6)  # Mbyte, "1,048.58"
    assert m["dram__bytes.sum.per_second"] == pytest.approx(2.41e12)  # Tbyte/second
    assert m["gpu__time_duration.sum"] == pytest.approx(12.35e-6)  # usecond
    assert m["sm__throughput.avg.pct_of_peak_sustained_elapsed"] == 87.5  # % stays percent
    assert m["launch__registers_per_thread"] == 168
    assert k.grid == (132, 1, 1) and k.block == (384, 1, 1)
    assert ncu.device_name == "NVIDIA H100 80GB HBM3"


def test_base_units_export_reads_the_same(tmp_path: Path) -> None:
    units = (
        '"","","","","","","","","","","","","byte","byte/second","second","%","register/thread"\n'
    )
    row = ROW.replace('"1,048.58"', '"1,048,580,000"').replace('"2.41"', '"2,410,000,000,000"')
    row = row.replace('"12.35"', '"0.00001235"')
    p = tmp_path / "base.csv"
    p.write_text(HEADER + units + row)
    m = read_ncu_csv(p).kernels[0].metrics
    assert m["dram__bytes_read.sum"] == pytest.approx(1048.58e6)
    assert m["dram__bytes.sum.per_second"] == pytest.approx(2.41e12)
    assert m["gpu__time_duration.sum"] == pytest.approx(12.35e-6)


def test_details_page_is_refused_with_a_hint(tmp_path: Path) -> None:
    p = tmp_path / "details.csv"
    p.write_text(
        '"ID","Kernel Name","Section Name","Metric Name","Metric Unit","Metric Value"\n"0","k","SOL","Duration","us","1"\n'
    )
    with pytest.raises(InputError, match="details page"):
        read_ncu_csv(p)


def test_unknown_unit_names_column(tmp_path: Path) -> None:
    p = tmp_path / "u.csv"
    p.write_text(HEADER + UNITS.replace("Mbyte", "furlong") + ROW)
    with pytest.raises(InputError, match="dram__bytes_read.sum.*furlong"):
        read_ncu_csv(p)


def test_csv_of_something_else(tmp_path: Path) -> None:
    p = tmp_path / "other.csv"
    p.write_text('"a","b"\n"1","2"\n')
    with pytest.raises(InputError, match="Kernel Name"):
        read_ncu_csv(p)
