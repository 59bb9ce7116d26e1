"""report.json on disk, the JSON renderer, and the self-check invariants."""

from __future__ import annotations

import copy
import math
from pathlib import Path
from typing import Any

import orjson
import pytest

from rooflens.errors import InputError, RooflensError
from rooflens.report import RENDERERS
from rooflens.report.document import load_report, problems, save_report, self_check


def test_save_load_round_trip(doc: dict[str, Any], tmp_path: Path) -> None:
    save_report(doc, tmp_path / "report.json")
    assert load_report(tmp_path / "report.json").to_dict() == doc


def test_json_renderer_is_the_document(doc: dict[str, Any]) -> None:
    assert orjson.loads(RENDERERS["json"].render(doc, "en")) == doc
    assert RENDERERS["json"].render(doc, "zh") == RENDERERS["json"].render(doc, "en")


def test_old_file_with_missing_sections_loads_and_renders(tmp_path: Path) -> None:
    path = tmp_path / "old.json"
    path.write_text('{"schema_version": "1.0", "header": {"model": "m"}}')
    old = load_report(path)
    assert old.timeline is None and old.kernels is None and old.comparison is None
    assert old.header.model == "m" and old.schema_version == "1.0"
    for name in ("md", "html"):
        text = RENDERERS[name].render(old, "en")
        assert "No timeline data" in text and "No NCU data" in text


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (None, "no such file"),
        ("{not json", "not valid JSON"),
        ('{"a": 1}', "no schema_version"),
        ('{"schema_version": "2.0"}', "not readable"),
    ],
)
def test_bad_files_raise_input_error(tmp_path: Path, content: str | None, problem: str) -> None:
    path = tmp_path / "r.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(InputError, match=problem):
        load_report(path)


def test_sound_document_passes(doc: dict[str, Any]) -> None:
    assert problems(doc) == []
    self_check(doc)


def _broken(doc: dict[str, Any], edit: Any) -> dict[str, Any]:
    d = copy.deepcopy(doc)
    edit(d)
    return d


@pytest.mark.parametrize(
    ("edit", "fragment"),
    [
        (lambda d: d["measured"].update(achieved_flops_per_s=2e15), "exceeds the GPU peak"),
        (lambda d: d["measured"].update(achieved_bandwidth_bps=4e12), "exceeds the GPU bandwidth"),
        (lambda d: d["timeline"]["runs"][1].update(gpu_busy_s=1.0), "exceeds its window"),
        (lambda d: d["timeline"]["runs"][1].update(bubble_ratio=1.5), "outside [0, 1]"),
        (lambda d: d["kernels"][0].update(dram_bytes=-1.0), "kernels[0].dram_bytes is negative"),
        (lambda d: d["kernels"][3].update(duration_s=math.nan), "kernels[3].duration_s is nan"),
    ],
)
def test_self_check_catches(doc: dict[str, Any], edit: Any, fragment: str) -> None:
    bad = _broken(doc, edit)
    with pytest.raises(RooflensError, match="self-check failed"):
        self_check(bad)
    assert any(fragment in p for p in problems(bad))
