"""The typed report document (rooflens.report_model): every committed report.json reads into it and
writes back byte for byte; its attributes are the JSON's values; older and foreign shapes load."""

from __future__ import annotations

import subprocess
from pathlib import Path

import orjson
import pytest

from rooflens.errors import InputError
from rooflens.report_model import (
    Finding,
    NcuKernel,
    OperatorRow,
    ReportDocument,
    TimelineKernel,
    read_report,
)

ROOT = Path(__file__).resolve().parents[2]


def _committed_reports() -> list[Path]:
    """Every report.json tracked by git (asked of git, so a newly committed one is covered)."""
    out = subprocess.run(
        ["git", "ls-files", "*report.json"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    return [ROOT / p for p in out]


COMMITTED = _committed_reports()


def test_there_are_committed_reports() -> None:
    assert len(COMMITTED) >= 4  # two examples, zh and en


@pytest.mark.parametrize("path", COMMITTED, ids=lambda p: str(p.relative_to(ROOT)))
def test_committed_report_round_trips_byte_for_byte(path: Path) -> None:
    raw = path.read_bytes()
    doc = ReportDocument.from_json(raw, path)
    assert doc.to_json() == raw
    assert read_report(path).to_json() == raw


@pytest.mark.parametrize("path", COMMITTED, ids=lambda p: str(p.relative_to(ROOT)))
def test_attributes_are_the_json_values(path: Path) -> None:
    raw = orjson.loads(path.read_bytes())
    doc = read_report(path)
    assert doc.schema_version == raw["schema_version"] and doc.generated_at == raw["generated_at"]
    assert doc.header.model == raw["header"]["model"] and doc.gpu.spec_key == raw["gpu"]["spec_key"]
    assert doc.comparison is not None and doc.timeline is not None and doc.kernels is not None
    assert len(doc.comparison.operators) == len(raw["comparison"]["operators"])
    for row, src in zip(doc.comparison.operators, raw["comparison"]["operators"], strict=True):
        assert isinstance(row, OperatorRow)
        assert (row.name, row.phase, row.measured_time_s, row.kernel_count) == (
            src["name"], src["phase"], src["measured_time_s"], src["kernel_count"],
        )  # fmt: skip
    f0, src0 = doc.comparison.findings[0], raw["comparison"]["findings"][0]
    assert isinstance(f0, Finding) and (f0.rule, f0.time_at_stake_s) == (
        src0["rule"], src0["time_at_stake_s"],
    )  # fmt: skip
    k, ksrc = doc.timeline.kernels[-1], raw["timeline"]["kernels"][-1]
    assert isinstance(k, TimelineKernel) and (k.index, k.duration_s, k.nvtx) == (
        ksrc["index"], ksrc["duration_s"], ksrc["nvtx"],
    )  # fmt: skip
    n = doc.kernels[0]
    assert isinstance(n, NcuKernel) and n.dram_bytes == raw["kernels"][0]["dram_bytes"]
    assert len(n.findings) == len(raw["kernels"][0]["findings"])
    assert doc.prediction is not None and doc.prediction.phases is not None
    prefill = doc.prediction.phases.prefill
    assert prefill is not None and prefill.flops == raw["prediction"]["phases"]["prefill"]["flops"]
    assert doc.extra == {}  # every top-level section of schema 1.3 is a typed field


def test_an_old_file_keeps_its_keys_and_unknown_keys_survive() -> None:
    # A 1.0-style document: no kernel_groups / breakdown / ranks, a finding without count, a key
    # this rooflens does not know (as a newer minor version might write).
    old = {
        "schema_version": "1.0",
        "header": {"model": "m", "future_field": [1, 2]},
        "comparison": {"findings": [{"rule": "r", "message": "x"}], "operators": []},
    }
    raw = orjson.dumps(old)
    doc = ReportDocument.from_json(raw)
    assert doc.header.extra == {"future_field": [1, 2]}
    f = doc.comparison.findings[0] if doc.comparison else None
    assert f is not None and f.count is None and not f.has("count") and f.has("message")
    assert doc.kernel_groups is None and doc.ranks is None and doc.tool.version is None
    back = orjson.loads(doc.to_json())
    # The missing top-level sections come back at their defaults; nothing else is added.
    assert back["header"] == old["header"] and back["comparison"] == old["comparison"]
    assert back["kernel_groups"] is None and back["timeline"] is None


def test_a_record_built_in_python_writes_every_field() -> None:
    row = OperatorRow(name="qkv_proj", phase="prefill", kernel_count=2, measured_time_s=1e-5)
    d = row.to_dict()
    assert list(d)[:3] == ["name", "phase", "predicted_time_s"] and d["kernel_count"] == 2
    assert d["ratio"] is None and OperatorRow.from_dict(d) == row


@pytest.mark.parametrize(
    ("text", "error"),
    [
        (b'{"schema_version": "1.3", "header": []}', TypeError),
        (b'{"schema_version": "1.3", "comparison": {"operators": {}}}', TypeError),
        (b'{"schema_version": "1.3", "timeline": {"kernels": [1]}}', TypeError),
        (b"[1]", InputError),
        (b'{"schema_version": "2.0"}', InputError),
    ],
)
def test_wrong_shapes_are_refused(text: bytes, error: type[Exception]) -> None:
    with pytest.raises(error):
        ReportDocument.from_json(text)


def test_records_read_from_json_are_frozen() -> None:
    import dataclasses

    doc = ReportDocument.from_json(b'{"schema_version": "1.3", "header": {"model": "m"}}')
    with pytest.raises(dataclasses.FrozenInstanceError):
        doc.header.model = "other"  # type: ignore[misc]
    assert dataclasses.replace(doc.header, model="other").model == "other"
    assert doc.header.model == "m"
