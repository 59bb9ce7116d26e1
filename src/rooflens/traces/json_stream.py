"""Streaming over the ``traceEvents`` array of a large Kineto JSON file, in bounded memory.

A Kineto trace of a million kernels is gigabytes of JSON with ~15 events per kernel, most of
them (``cpu_op``, ``python_function``, flow events) of no use to rooflens.  Loading it whole
would take several times its size in Python objects.  Instead the file is read and
cut into chunks at event boundaries found with numpy (quote / backslash / brace masks, so
braces inside strings do not count); in each chunk a C-speed regex finds the events whose
``"cat"`` is one rooflens reads, and only those are parsed, as one JSON array per chunk.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import orjson

CHUNK_BYTES = 16 << 20
_CATS = rb'"cat"\s*:\s*"(?:kernel|cuda_runtime|cuda_driver|user_annotation|gpu_memcpy|gpu_memset)"'
_CAT_RE = re.compile(_CATS)
#: Where the events array opens (also used by the native scanner on in-memory documents).
KEY_RE = re.compile(rb'"traceEvents"\s*:\s*\[')


class StreamError(ValueError):
    """The file's structure is not a JSON object holding a ``traceEvents`` array."""


_SPECIAL = np.zeros(256, dtype=bool)
_SPECIAL[[34, 91, 92, 93, 123, 125]] = True  # " [ \\ ] { }


def _event_spans(arr: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """Starts and ends (exclusive) of complete events in ``arr``, and where the array closed (-1).

    Works on the structural bytes only (quotes, backslashes, brackets: a few % of a trace):
    a quote preceded by an odd run of backslashes is escaped; brackets inside strings
    (between unescaped quotes) do not count; depth 0 is "between events".
    """
    pos = np.flatnonzero(_SPECIAL[arr])
    ch = arr[pos]
    bs = ch == 92
    escaped = np.zeros(pos.size, dtype=bool)
    if bs.any():
        idx = np.flatnonzero(bs)
        brk = np.r_[True, (np.diff(idx) != 1) | (np.diff(pos[idx]) != 1)]
        run_start, run_end = idx[brk], np.r_[idx[np.flatnonzero(brk)[1:] - 1], idx[-1]] + 1
        odd = ((run_end - run_start) % 2 == 1) & (run_end < pos.size)
        nxt = run_end[odd]
        follows = pos[nxt] == pos[nxt - 1] + 1  # the escaped byte is structural only if adjacent
        escaped[nxt[follows]] = True
    quote = (ch == 34) & ~escaped
    in_str = (np.cumsum(quote, dtype=np.int32) & 1).astype(bool) & ~quote
    opens = ((ch == 123) | (ch == 91)) & ~in_str
    closes = ((ch == 125) | (ch == 93)) & ~in_str
    depth = np.cumsum(opens.astype(np.int8) - closes.astype(np.int8), dtype=np.int32)
    prev = np.r_[np.int32(0), depth[:-1]]
    starts = pos[(prev == 0) & (depth == 1) & (ch == 123)]
    ends = pos[(prev == 1) & (depth == 0) & (ch == 125)] + 1
    closed = pos[depth < 0]
    at = int(closed[0]) if closed.size else -1
    if at >= 0:  # what follows the array's end is not events
        starts, ends = starts[starts < at], ends[ends <= at]
    # An event still open at the chunk's end has a start and no end yet.  More ends than starts,
    # or an end before its start, means brackets that do not match (`[ ... }`): not JSON.
    if ends.size > starts.size or not bool(np.all(starts[: ends.size] < ends)):
        raise StreamError("malformed trace event (brackets do not match)")
    return starts[: ends.size], ends, at


def _find_key(fh: BinaryIO) -> int:
    """Offset just past ``"traceEvents": [`` (-1 when absent), reading the file block by block."""
    pos, overlap, step = 0, 64, 1 << 20
    while True:
        fh.seek(pos)
        block = fh.read(step)
        m = KEY_RE.search(block)
        if m is not None:
            return pos + m.end()
        if len(block) < step:
            return -1
        pos += step - overlap


def read_head(path: Path) -> tuple[dict[str, Any], int, int]:
    """(the document's keys before ``traceEvents``, the offset just inside its ``[``, file size).

    Shared by this module and the native scanner (:mod:`rooflens.traces.kineto_scan`).
    """
    with path.open("rb") as fh:
        size = os.fstat(fh.fileno()).st_size
        first = _find_key(fh)
        if first < 0:
            raise StreamError("no traceEvents array")
        fh.seek(0)
        return parse_head(fh.read(first)), first, size


def parse_head(prefix: bytes) -> dict[str, Any]:
    """The JSON object whose text is ``prefix`` (which ends just inside ``"traceEvents": [``)."""
    try:
        head = orjson.loads(prefix + b"]}")
    except orjson.JSONDecodeError as exc:
        raise StreamError(f"malformed JSON before traceEvents ({exc.msg})") from exc
    if not isinstance(head, dict):
        raise StreamError("no traceEvents array")
    return head


def iter_events(path: Path) -> tuple[dict[str, Any], Iterator[list[Any]]]:
    """(the document without its events, an iterator of event batches of the wanted categories).

    The file is read block by block (not memory-mapped: mapped pages would count as resident
    memory), so memory stays near one chunk plus the parsed events of interest.
    """
    head, first, size_total = read_head(path)
    fh = path.open("rb")

    def batches() -> Iterator[list[Any]]:
        pos, size = first, CHUNK_BYTES
        try:
            while pos < size_total:
                fh.seek(pos)
                chunk = fh.read(size)
                starts, ends, closed = _event_spans(np.frombuffer(chunk, dtype=np.uint8))
                if closed < 0 and not ends.size:
                    if pos + len(chunk) >= size_total:
                        raise StreamError("traceEvents array is not closed (truncated file?)")
                    size *= 2  # one event longer than a chunk: widen the window
                    continue
                if closed >= 0:
                    keep = ends <= closed
                    starts, ends = starts[keep], ends[keep]
                yield _parse_wanted(chunk, starts, ends)
                if closed >= 0:
                    fh.seek(pos + closed + 1)
                    merge_tail(head, fh.read())
                    return
                pos, size = pos + int(ends[-1]), CHUNK_BYTES
            raise StreamError("traceEvents array is not closed (truncated file?)")
        finally:
            fh.close()

    return head, batches()


def merge_tail(head: dict[str, Any], tail: bytes) -> None:
    """Add the top-level keys that follow the ``traceEvents`` array (if any) to ``head``."""
    tail = tail.strip()
    if tail.startswith(b","):
        try:
            extra = orjson.loads(b"{" + tail[1:])
        except orjson.JSONDecodeError as exc:
            raise StreamError(f"malformed JSON after traceEvents ({exc.msg})") from exc
        if isinstance(extra, dict):
            head.update(extra)


def _parse_wanted(chunk: bytes, starts: np.ndarray, ends: np.ndarray) -> list[Any]:
    """Parse the events among ``[starts, ends)`` of ``chunk`` whose category rooflens reads."""
    if not starts.size:
        return []
    lo, hi = int(starts[0]), int(ends[-1])
    hits = np.fromiter((x.start() for x in _CAT_RE.finditer(chunk, lo, hi)), dtype=np.int64)
    if not hits.size:
        return []
    idx = np.unique(np.searchsorted(ends, hits, side="right"))
    idx = idx[idx < starts.size]
    blob = b",".join(
        chunk[s:e] for s, e in zip(starts[idx].tolist(), ends[idx].tolist(), strict=True)
    )
    try:
        return list(orjson.loads(b"[" + blob + b"]"))
    except orjson.JSONDecodeError as exc:
        raise StreamError(f"malformed trace event near byte {lo} ({exc.msg})") from exc
