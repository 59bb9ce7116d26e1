"""PyTorch profiler (Kineto) JSON trace → :class:`~rooflens.traces.model.Trace`.

Kineto writes complete events (``ph: "X"``) with ``ts``/``dur`` in microseconds: ``kernel``
events on the GPU (``pid`` = device, ``tid`` = stream, launch ``correlation`` in ``args``),
``cuda_runtime``/``cuda_driver`` launch calls on host threads, ``user_annotation`` ranges from
``record_function`` (they nest like NVTX push/pop ranges on one thread), ``gpu_memcpy`` /
``gpu_memset``, and ``deviceProperties`` at the top level.  Microseconds become seconds here.
A Kineto file holds one process, so a kernel's process is that of its launch call.
"""

from __future__ import annotations

import gzip
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from rooflens.errors import InputError
from rooflens.traces.files import check_input_file, read_head
from rooflens.traces.json_stream import StreamError, iter_events
from rooflens.traces.model import (
    RANGE_PUSH_POP,
    Copies,
    GpuInfo,
    Kernels,
    Launches,
    NvtxRanges,
    StringTable,
    Trace,
)
from rooflens.traces.names import short_kernel_name
from rooflens.traces.nesting import assign_nesting

US = 1e-6  # Kineto timestamps and durations are microseconds
_NOT_KINETO = "JSON without a traceEvents list: not a PyTorch profiler (Kineto) trace"
_LAUNCH_CATS = {"cuda_runtime", "cuda_driver"}
_COPY_CATS = {"gpu_memcpy": False, "gpu_memset": True}


# Row layouts: which tuple positions hold (ts, dur) in microseconds; the rest are integers.
_TIME_COLS = {"kernel": (2, 3), "launch": (3, 4), "range": (1, 2), "copy": (0, 1)}


class _Columns:
    """Rows filled event by event; :meth:`flush` packs them into numpy blocks after each batch.

    Packing per batch keeps memory near the size of the final arrays: a million kernels as
    Python tuples would take gigabytes.
    """

    def __init__(self) -> None:
        self.kernel: list[tuple[Any, ...]] = []
        self.launch: list[tuple[Any, ...]] = []
        self.range: list[tuple[Any, ...]] = []
        self.copy: list[tuple[Any, ...]] = []
        self.blocks: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {k: [] for k in _TIME_COLS}

    def flush(self) -> None:
        """Move the pending rows of every table into (integer columns, (ts, dur)) array blocks."""
        for table, (a, b) in _TIME_COLS.items():
            rows: list[tuple[Any, ...]] = getattr(self, table)
            if not rows:
                continue
            n = len(rows)
            times = np.array([(r[a], r[b]) for r in rows], dtype=np.float64).reshape(n, 2)
            ints = np.array([r[:a] + r[b + 1 :] for r in rows], dtype=np.int64).reshape(n, -1)
            self.blocks[table].append((ints, times))
            rows.clear()

    def arrays(self, table: str, n_int: int) -> tuple[np.ndarray, np.ndarray]:
        """All rows of ``table``: integer columns ``(n, n_int)`` and ``(ts, dur)`` ``(n, 2)``."""
        self.flush()
        parts = self.blocks[table]
        if not parts:
            return np.zeros((0, n_int), np.int64), np.zeros((0, 2), np.float64)
        return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


def _int(value: Any, default: int = -1) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _dim3(value: Any) -> tuple[int, int, int]:
    if isinstance(value, list | tuple) and len(value) == 3:
        return (_int(value[0], 0), _int(value[1], 0), _int(value[2], 0))
    return (0, 0, 0)


def _kernel_row(
    ev: dict[str, Any], args: dict[str, Any], ts: float, dur: float, intern: Any
) -> tuple[Any, ...]:
    """One kernel row; the common well-typed case goes without per-field conversion calls."""
    name = ev.get("name", "")
    grid, block = args.get("grid"), args.get("block")
    corr, dev, stream = (
        args.get("correlation", -1),
        args.get("device", ev.get("pid")),
        args.get("stream", ev.get("tid")),
    )
    regs, smem = args.get("registers per thread", 0), args.get("shared memory", 0)
    if (type(name) is str and type(grid) is list and type(block) is list and len(grid) == 3 and len(block) == 3
            and all(type(x) is int for x in (corr, dev, stream, regs, smem, *grid, *block))):  # fmt: skip
        return (
            intern(name),
            intern(short_kernel_name(name)),
            ts,
            dur,
            dev,
            stream,
            corr,
            *grid,
            *block,
            regs,
            smem,
        )
    name = str(name)
    return (intern(name), intern(short_kernel_name(name)), ts, dur, _int(dev), _int(stream), _int(corr),
            *_dim3(grid), *_dim3(block), _int(regs, 0), _int(smem, 0))  # fmt: skip


def _collect(events: Iterable[Any], cols: _Columns, strings: StringTable) -> None:
    """Sort the events of interest into ``cols`` (names interned into ``strings``)."""
    intern = strings.intern
    kernel, launch, rng, copy = (
        cols.kernel.append,
        cols.launch.append,
        cols.range.append,
        cols.copy.append,
    )
    for ev in events:
        if type(ev) is not dict or ev.get("ph") != "X":
            continue
        cat = ev.get("cat")
        try:
            ts = float(ev["ts"])
            dur = float(ev.get("dur", 0.0))
        except (KeyError, TypeError, ValueError):
            continue
        args = ev.get("args") or {}
        if cat == "kernel":
            kernel(_kernel_row(ev, args, ts, dur, intern))
        elif cat in _LAUNCH_CATS:
            launch(
                (_int(args.get("correlation")), _int(ev.get("pid")), _int(ev.get("tid")), ts, dur)
            )
        elif cat == "user_annotation":
            rng(
                (intern(str(ev.get("name", ""))), ts, dur, _int(ev.get("pid")), _int(ev.get("tid")))
            )
        elif cat in _COPY_CATS:
            copy(
                (ts, dur, _int(args.get("device", ev.get("pid"))), _int(args.get("stream", ev.get("tid"))),
                 _int(args.get("correlation")), _int(args.get("bytes"), 0), _COPY_CATS[cat])
            )  # fmt: skip


def _origin(times: list[np.ndarray]) -> float:
    """Earliest timestamp (us): times are kept relative to it.

    Kineto timestamps are ~1e12 us; in float64 seconds that leaves ~1 ns resolution and
    durations computed as end − start would carry that error.  Relative to the first event
    they stay exact to the JSON's own decimals.
    """
    firsts = [float(t[:, 0].min()) for t in times if t.size]
    return min(firsts) if firsts else 0.0


def _seconds(ts_dur: np.ndarray, t0: float) -> tuple[np.ndarray, np.ndarray]:
    """(start, end) in seconds relative to ``t0`` from (ts, dur) columns in microseconds."""
    start = (ts_dur[:, 0] - t0) * US
    return start, start + ts_dur[:, 1] * US


def _build_kernels(ints: np.ndarray, times: np.ndarray, launches: Launches, t0: float) -> Kernels:
    order = np.argsort(times[:, 0], kind="stable")
    ints, times = ints[order], times[order]
    start, end = _seconds(times, t0)
    corr = ints[:, 4]
    # The kernel's process is its launch call's (matched by correlation id).
    pid = np.full(corr.size, -1, dtype=np.int64)
    if len(launches):
        lo = np.argsort(launches.correlation, kind="stable")
        sc = launches.correlation[lo]
        pos = np.clip(np.searchsorted(sc, corr), 0, max(sc.size - 1, 0))
        hit = sc[pos] == corr
        pid[hit] = launches.pid[lo][pos[hit]]
    return Kernels(
        name_id=ints[:, 0].copy(), short_id=ints[:, 1].copy(),
        start_s=start, end_s=end,
        device=ints[:, 2].copy(), stream=ints[:, 3].copy(), correlation=corr.copy(), pid=pid,
        grid=ints[:, 5:8].copy(), block=ints[:, 8:11].copy(),
        registers_per_thread=ints[:, 11].copy(), shared_mem_bytes=ints[:, 12].copy(),
    )  # fmt: skip


def _build_trace(
    path: Path, doc_rest: dict[str, Any], cols: _Columns, strings: StringTable
) -> Trace:
    ki, kt = cols.arrays("kernel", 13)
    la, lt = cols.arrays("launch", 3)
    ri, rt = cols.arrays("range", 3)
    cp, ct = cols.arrays("copy", 5)
    t0 = _origin([kt, lt, rt, ct])
    ls, le = _seconds(lt, t0)
    launches = Launches(la[:, 0].copy(), la[:, 1].copy(), la[:, 2].copy(), ls, le)
    rs, re_ = _seconds(rt, t0)
    ranges = NvtxRanges(
        name_id=ri[:, 0].copy(), start_s=rs, end_s=re_,
        pid=ri[:, 1].copy(), tid=ri[:, 2].copy(), kind=np.full(ri.shape[0], RANGE_PUSH_POP),
    )  # fmt: skip
    assign_nesting(ranges)
    cs, ce = _seconds(ct, t0)
    copies = Copies(
        start_s=cs, end_s=ce, device=cp[:, 0].copy(), stream=cp[:, 1].copy(),
        correlation=cp[:, 2].copy(), pid=np.full(cp.shape[0], -1, dtype=np.int64),
        size_bytes=cp[:, 3].copy(), is_memset=cp[:, 4].astype(bool),
    )  # fmt: skip
    trace = Trace(
        source="kineto", path=str(path), strings=strings,
        kernels=_build_kernels(ki, kt, launches, t0), launches=launches, ranges=ranges,
        copies=copies, gpus=_gpus(doc_rest.get("deviceProperties")), time_origin_s=t0 * US,
    )  # fmt: skip
    if not len(trace.kernels):
        trace.warnings.append("no GPU kernel events (was the profiler run with CUDA activity?)")
    return trace


def _gpus(props: Any) -> list[GpuInfo]:
    """``deviceProperties`` → GPU info (Kineto gives no bandwidth or clock)."""
    out: list[GpuInfo] = []
    for p in props if isinstance(props, list) else []:
        if not isinstance(p, dict) or "name" not in p:
            continue
        cc = None
        if "computeMajor" in p and "computeMinor" in p:
            cc = f"{p['computeMajor']}.{p['computeMinor']}"
        out.append(
            GpuInfo(name=str(p["name"]), device=_int(p.get("id"), 0), sm_count=p.get("numSms"),
                    memory_bytes=p.get("totalGlobalMem"), l2_cache_bytes=p.get("l2CacheSize"),
                    compute_capability=cc)
        )  # fmt: skip
    return out


def _load_document(path: Path) -> dict[str, Any]:
    raw = path.read_bytes()
    if raw.startswith(b"\x1f\x8b"):
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as exc:
            raise InputError(path, f"corrupt gzip data ({exc})") from exc
    try:
        doc = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InputError(path, f"not valid JSON ({exc.msg} at byte {exc.pos})") from exc
    except MemoryError as exc:
        raise InputError(path, "too large to load into memory") from exc
    if not isinstance(doc, dict) or not isinstance(doc.get("traceEvents"), list):
        raise InputError(
            path, "JSON without a traceEvents list: not a PyTorch profiler (Kineto) trace"
        )
    return doc


class KinetoJsonReader:
    """Reads one Kineto JSON trace; :meth:`read` returns the :class:`Trace`."""

    def __init__(self, path: str | Path) -> None:
        self.path = check_input_file(path)

    def read(self) -> Trace:
        """Parse kernels, launches, ``record_function`` ranges, copies and device properties.

        Plain files are streamed (:mod:`rooflens.traces.json_stream`: bounded memory, only the
        event categories rooflens reads are parsed); gzip files are decompressed and loaded whole.
        """
        cols = _Columns()
        strings = StringTable()
        if read_head(self.path, 2) == b"\x1f\x8b":
            doc = _load_document(self.path)
            _collect(doc.pop("traceEvents"), cols, strings)
            return _build_trace(self.path, doc, cols, strings)
        try:
            head, batches = iter_events(self.path)
            for batch in batches:
                _collect(batch, cols, strings)
                cols.flush()
        except StreamError as exc:
            if "no traceEvents" in str(exc):
                raise InputError(self.path, _NOT_KINETO) from exc
            raise InputError(self.path, f"not valid JSON: {exc}") from exc
        except orjson.JSONDecodeError as exc:
            raise InputError(self.path, f"not valid JSON ({exc.msg})") from exc
        return _build_trace(self.path, head, cols, strings)


def read_kineto_json(path: str | Path) -> Trace:
    """Read a PyTorch profiler (Kineto) JSON trace into a :class:`Trace` (seconds, bytes)."""
    return KinetoJsonReader(path).read()
