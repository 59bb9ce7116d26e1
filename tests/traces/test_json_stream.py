"""The streaming Kineto scanner against a plain ``json.loads`` of the same document."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rooflens.traces import json_stream
from rooflens.traces.json_stream import StreamError, iter_events

TRICKY = [
    "void k<{lambda(int)#1}>(int)",  # braces inside a string
    'a "quoted" [name]',  # escaped quotes, brackets
    "ends with backslash \\",  # escaped backslash right before the closing quote
    'two \\\\" and }',  # backslash run then an escaped quote
    "ünïcödé ✓",
]


def _doc(n: int) -> dict:  # type: ignore[type-arg]
    events = []
    for i in range(n):
        name = TRICKY[i % len(TRICKY)] + str(i)
        events.append({"ph": "X", "cat": "kernel", "name": name, "ts": i, "dur": 1,
                       "args": {"correlation": i, "grid": [1, 2, 3], "note": '{["\\'}})  # fmt: skip
        events.append(
            {"ph": "X", "cat": "cpu_op", "name": "aten::mm {x}", "ts": i, "dur": 1, "args": {}}
        )
        events.append({"ph": "X", "cat": "cuda_runtime", "name": "cudaLaunchKernel", "ts": i, "dur": 1,
                       "args": {"correlation": i}})  # fmt: skip
    return {"schemaVersion": 1, "deviceProperties": [{"id": 0, "name": "GPU {0}"}], "traceEvents": events,
            "traceName": "after [the] events"}  # fmt: skip


@pytest.mark.parametrize("chunk", [64, 300, 1 << 20])
def test_stream_yields_exactly_the_wanted_events(
    tmp_path: Path, chunk: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    doc = _doc(40)
    p = tmp_path / "t.json"
    p.write_text(json.dumps(doc, indent=1, ensure_ascii=False))
    monkeypatch.setattr(
        json_stream, "CHUNK_BYTES", chunk
    )  # 64: smaller than one event, the window widens
    head, batches = iter_events(p)
    got = [e for b in batches for e in b]
    want = [e for e in json.loads(p.read_text())["traceEvents"] if e["cat"] != "cpu_op"]
    assert got == want
    assert (
        head["deviceProperties"] == doc["deviceProperties"]
        and head["traceName"] == doc["traceName"]
    )


def test_minified_document(tmp_path: Path) -> None:
    p = tmp_path / "m.json"
    p.write_text(json.dumps(_doc(7), separators=(",", ":")))
    head, batches = iter_events(p)
    assert sum(len(b) for b in batches) == 14


def test_truncated_array(tmp_path: Path) -> None:
    p = tmp_path / "t.json"
    p.write_text(json.dumps(_doc(5))[:-60])
    head, batches = iter_events(p)
    with pytest.raises(StreamError, match="not closed"):
        list(batches)
