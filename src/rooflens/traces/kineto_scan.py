"""The native Kineto scanner (C extension ``_fastread``) over a file, in parallel, bounded memory.

A Kineto trace of a million kernels is ~2 GB of JSON.  The C scanner reads each event once
and keeps only the rows rooflens uses (see ``_fastread.c``); this module feeds it:

* the file is memory-mapped a window at a time (64 MB), so resident memory stays near one
  window per thread rather than the file's size, and nothing is copied before scanning;
* the ``traceEvents`` array is cut into one part per CPU.  A part starts at a *resync point*,
  the ``{`` after a ``}``/``,`` pair found near its nominal offset.  That guess could land
  inside a string, so it is checked: the scanner of the part before must stop exactly there,
  at an event boundary.  If it does not, the later parts are dropped and that scanner simply
  goes on to the end, so a wrong guess costs time, never correctness.

Without the extension (no C compiler at install time) :mod:`rooflens.traces.json_stream` is the
fallback; :func:`available` tells which one runs.
"""

from __future__ import annotations

import mmap
import os
import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rooflens.traces.json_stream import KEY_RE, StreamError, merge_tail, parse_head, read_head

try:
    from rooflens.traces import _fastread as _native  # type: ignore[attr-defined]
except ImportError:  # built without a C compiler: the pure-Python reader is used
    _native = None

WINDOW_BYTES = 64 << 20
MIN_PART_BYTES = 32 << 20  # smaller parts are not worth a thread
_ST_MORE, _ST_CLOSED, _ST_LIMIT = 0, 1, 2
_RESYNC = re.compile(rb"\}\s*,\s*\{")
_RESYNC_SEARCH = 1 << 20


def available() -> bool:
    """Whether the C extension was built (``pip install`` compiles it where gcc is present)."""
    return _native is not None and os.environ.get("ROOFLENS_NATIVE") != "0"


def default_threads() -> int:
    """Threads for one scan: the CPUs this process may use (``ROOFLENS_THREADS`` overrides)."""
    env = os.environ.get("ROOFLENS_THREADS", "")
    if env.isdigit() and int(env) > 0:
        return int(env)
    try:
        return max(1, min(len(os.sched_getaffinity(0)), 16))
    except AttributeError:  # not Linux
        return max(1, min(os.cpu_count() or 1, 16))


@dataclass
class Block:
    """Rows of one table as columns: the integer columns (layouts in
    :mod:`rooflens.traces.kineto_json`), then ``ts`` and ``dur`` in microseconds."""

    ints: list[np.ndarray]
    ts: np.ndarray
    dur: np.ndarray

    def __len__(self) -> int:
        return len(self.ts)


@dataclass
class Part:
    """What one scanner found: per table, a :class:`Block` of columns, and the distinct names as
    raw JSON bytes (the name columns hold indices into this list)."""

    tables: dict[str, Block]
    names: list[bytes]


def _take(scanner: Any) -> Part:
    """The scanner's columns as numpy arrays over its own memory (no copy)."""
    raw_tables, names = scanner.take()
    tables = {}
    for table, (ints, ts, dur, rows) in raw_tables.items():
        tables[table] = Block(
            [np.frombuffer(c, dtype=np.int64, count=rows) for c in ints],
            np.frombuffer(ts, dtype=np.float64, count=rows),
            np.frombuffer(dur, dtype=np.float64, count=rows),
        )
    return Part(tables, names)


def _feed(scanner: Any, view: memoryview, offset: int, limit: int) -> tuple[int, int]:
    """One ``feed`` call; the C scanner's ``(reason, offset)`` errors become :class:`StreamError`."""
    try:
        consumed, status = scanner.feed(view, limit)
    except ValueError as exc:
        reason, at = exc.args[0] if exc.args and isinstance(exc.args[0], tuple) else (exc, 0)
        raise StreamError(f"malformed trace event near byte {offset + at} ({reason})") from None
    return int(consumed), int(status)


def _scan_range(
    fd: int, size: int, scanner: Any, start: int, limit: int, window: int
) -> tuple[int, int]:
    """Feed ``scanner`` the file from ``start`` until the array closes or an event starts at or
    past ``limit`` (-1: none); returns (absolute stop offset, status)."""
    gran = mmap.ALLOCATIONGRANULARITY
    window = max(gran, window - window % gran)
    pos = start
    while True:
        if pos >= size:
            raise StreamError("traceEvents array is not closed (truncated file?)")
        base = pos - pos % gran
        length = min(window, size - base)
        rel_limit = -1 if limit < 0 else max(0, limit - pos)
        with (
            mmap.mmap(fd, length, offset=base, access=mmap.ACCESS_READ) as mapped,
            memoryview(mapped) as whole,
            whole[pos - base :] as view,
        ):
            consumed, status = _feed(scanner, view, pos, rel_limit)
        if status != _ST_MORE:
            return pos + consumed, status
        if base + length >= size:
            raise StreamError("traceEvents array is not closed (truncated file?)")
        if consumed == 0:
            window *= 2  # one event longer than the window: widen it
        pos += consumed


def _resync_points(fd: int, first: int, size: int, parts: int) -> list[int]:
    """Guessed event starts (offsets of ``{``) near ``parts`` equal cuts of ``[first, size)``."""
    points = [first]
    step = (size - first) // parts
    for i in range(1, parts):
        at = first + i * step
        m = _RESYNC.search(os.pread(fd, _RESYNC_SEARCH, at))
        if m is None:
            continue
        point = at + m.end() - 1
        if point > points[-1] and point < first + (i + 1) * step:
            points.append(point)
    return points


def scan_file(
    path: Path, threads: int | None = None, window: int | None = None
) -> tuple[dict[str, Any], list[Part]]:
    """(the document's other keys, the parts in file order) of a Kineto JSON file.

    ``threads``: at most this many parts (default :func:`default_threads`); ``window``: bytes
    mapped at a time per thread (default :data:`WINDOW_BYTES`).
    """
    assert _native is not None
    window = window or WINDOW_BYTES
    head, first, size = read_head(path)
    threads = default_threads() if threads is None else max(1, threads)
    n_parts = max(1, min(threads, (size - first) // MIN_PART_BYTES))
    fd = os.open(path, os.O_RDONLY)
    try:
        points = _resync_points(fd, first, size, n_parts) if n_parts > 1 else [first]
        scanners = [_native.Scanner(mid_array=i > 0) for i in range(len(points))]
        limits = points[1:] + [-1]

        def work(i: int) -> tuple[int, int] | StreamError:
            try:
                return _scan_range(fd, size, scanners[i], points[i], limits[i], window)
            except StreamError as exc:
                return exc

        results: list[tuple[int, int] | StreamError]
        if len(points) == 1:
            results = [work(0)]
        else:
            with ThreadPoolExecutor(max_workers=len(points)) as pool:
                results = list(pool.map(work, range(len(points))))
        used, closed_at = _check_parts(results, points, scanners, lambda i, stop: _scan_range(
            fd, size, scanners[i], stop, -1, window))  # fmt: skip
        merge_tail(head, os.pread(fd, size - closed_at - 1, closed_at + 1))
    finally:
        os.close(fd)
    return head, [_take(s) for s in scanners[:used]]


def _check_parts(
    results: list[tuple[int, int] | StreamError],
    points: list[int],
    scanners: list[Any],
    finish: Callable[[int, int], tuple[int, int]],
) -> tuple[int, int]:
    """(parts that count, offset of the closing ``]``), checking each guessed part start.

    Part *i*'s start is confirmed when part *i − 1* stopped exactly there; otherwise (the guess
    fell inside a string or a nested value) part *i − 1* is finished alone by ``finish`` and
    the later parts are dropped, errors included (they may come from the wrong guess).
    """
    for i, res in enumerate(results):
        if isinstance(res, StreamError):
            raise res  # its start is confirmed, so the error is real
        stop, status = res
        if status == _ST_CLOSED:
            return i + 1, stop  # later guesses lay after the array
        if i + 1 < len(points) and stop == points[i + 1]:
            continue
        stop, status = finish(i, stop)
        return i + 1, stop
    raise AssertionError("the last part has no limit")  # pragma: no cover


def scan_bytes(data: bytes) -> tuple[dict[str, Any], list[Part]]:
    """The same for a document in memory (a decompressed ``.json.gz``): one scanner, one pass."""
    assert _native is not None
    m = KEY_RE.search(data)
    if m is None:
        raise StreamError("no traceEvents array")
    head = parse_head(data[: m.end()])
    scanner = _native.Scanner()
    with memoryview(data) as whole, whole[m.end() :] as view:
        consumed, status = _feed(scanner, view, m.end(), -1)
    if status != _ST_CLOSED:
        raise StreamError("traceEvents array is not closed (truncated file?)")
    merge_tail(head, data[m.end() + consumed + 1 :])
    return head, [_take(scanner)]
