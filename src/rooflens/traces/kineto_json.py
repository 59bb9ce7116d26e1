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
import os
import zlib
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from rooflens.errors import InputError
from rooflens.traces import kineto_scan
from rooflens.traces.files import check_input_file, read_head
from rooflens.traces.json_stream import StreamError, iter_events
from rooflens.traces.kineto_scan import Block
from rooflens.traces.kineto_values import I64_MAX, TABLES, dim3, plausible_block, to_float, to_int
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
from rooflens.traces.sanity import positive_int

US = 1e-6  # Kineto timestamps and durations are microseconds
_NOT_KINETO = "JSON without a traceEvents list: not a PyTorch profiler (Kineto) trace"
_LAUNCH_CATS = {"cuda_runtime", "cuda_driver"}
_COPY_CATS = {"gpu_memcpy": False, "gpu_memset": True}


# The integer columns of each table; every row ends with (ts, dur) in microseconds.  The
# native scanner (_fastread.c, function emit) writes the same columns in the same order.
INT_COLUMNS = {
    "kernel": ("name", "short", "device", "stream", "correlation", "grid_x", "grid_y", "grid_z",
               "block_x", "block_y", "block_z", "registers", "shared_mem"),
    "launch": ("correlation", "pid", "tid"),
    "range": ("name", "pid", "tid"),
    "copy": ("device", "stream", "correlation", "bytes", "is_memset"),
}  # fmt: skip


def _empty_block(table: str) -> Block:
    return Block(
        [np.zeros(0, np.int64) for _ in INT_COLUMNS[table]],
        np.zeros(0, np.float64),
        np.zeros(0, np.float64),
    )


class _Columns:
    """Rows filled event by event; :meth:`flush` packs them into column blocks after each batch.

    Packing per batch keeps memory near the size of the final arrays: a million kernels as
    Python tuples would take gigabytes.  The native scanner hands over blocks directly.
    """

    def __init__(self) -> None:
        self.rows: dict[str, list[tuple[Any, ...]]] = {t: [] for t in INT_COLUMNS}
        self.blocks: dict[str, list[Block]] = {t: [] for t in INT_COLUMNS}

    def flush(self) -> None:
        """Move the pending rows of every table into a :class:`Block`."""
        for table, rows in self.rows.items():
            if not rows:
                continue
            n, k = len(rows), len(INT_COLUMNS[table])
            ints = np.array([r[:k] for r in rows], dtype=np.int64).reshape(n, k)
            times = np.array([r[k:] for r in rows], dtype=np.float64).reshape(n, 2)
            self.blocks[table].append(
                Block([ints[:, j].copy() for j in range(k)], times[:, 0].copy(), times[:, 1].copy())
            )
            rows.clear()

    def table(self, table: str) -> Block:
        """All rows of ``table`` as one block (no copy when there is a single block)."""
        self.flush()
        parts = self.blocks[table]
        if not parts:
            return _empty_block(table)
        if len(parts) == 1:
            return parts[0]
        return Block(
            [np.concatenate([p.ints[j] for p in parts]) for j in range(len(INT_COLUMNS[table]))],
            np.concatenate([p.ts for p in parts]),
            np.concatenate([p.dur for p in parts]),
        )


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
            and all(type(x) is int and -I64_MAX <= x <= I64_MAX
                    for x in (corr, dev, stream, regs, smem, *grid, *block))):  # fmt: skip
        return (intern(name), intern(short_kernel_name(name)), dev, stream, corr, *grid, *block,
                regs, smem, ts, dur)  # fmt: skip
    name = name if type(name) is str else ""  # as the native scanner: a non-string name is ""
    return (intern(name), intern(short_kernel_name(name)), to_int(dev), to_int(stream), to_int(corr),
            *dim3(grid), *dim3(block), to_int(regs, 0), to_int(smem, 0), ts, dur)  # fmt: skip


def _collect(events: Iterable[Any], cols: _Columns, strings: StringTable) -> None:
    """Sort the events of interest into ``cols`` (names interned into ``strings``).

    The reference semantics: the native scanner (``_fastread.c``) does the same in C, and
    the tests hold the two to identical results.
    """
    intern = strings.intern
    kernel, launch, rng, copy = (cols.rows[t].append for t in ("kernel", "launch", "range", "copy"))
    for ev in events:
        if type(ev) is not dict or ev.get("ph") != "X":
            continue
        cat = ev.get("cat")
        ts, dur = to_float(ev.get("ts")), to_float(ev.get("dur", 0.0))
        if ts is None or dur is None:
            continue
        args = ev.get("args")
        if type(args) is not dict:  # absent, null or not an object: no args
            args = {}
        if cat == "kernel":
            kernel(_kernel_row(ev, args, ts, dur, intern))
        elif cat in _LAUNCH_CATS:
            launch(
                (
                    to_int(args.get("correlation")),
                    to_int(ev.get("pid")),
                    to_int(ev.get("tid")),
                    ts,
                    dur,
                )
            )
        elif cat == "user_annotation":
            name = ev.get("name", "")
            rng(
                (
                    intern(name if type(name) is str else ""),
                    to_int(ev.get("pid")),
                    to_int(ev.get("tid")),
                    ts,
                    dur,
                )
            )
        elif cat in _COPY_CATS:
            copy(
                (to_int(args.get("device", ev.get("pid"))), to_int(args.get("stream", ev.get("tid"))),
                 to_int(args.get("correlation")), to_int(args.get("bytes"), 0), _COPY_CATS[cat], ts, dur)
            )  # fmt: skip


def _origin(blocks: list[Block]) -> float:
    """Earliest timestamp (us): times are kept relative to it.

    Kineto timestamps are ~1e12 us; in float64 seconds that leaves ~1 ns resolution and
    durations computed as end − start would carry that error.  Relative to the first event
    they stay exact to the JSON's own decimals.
    """
    firsts = [float(b.ts.min()) for b in blocks if len(b)]
    return min(firsts) if firsts else 0.0


def _seconds(ts: np.ndarray, dur: np.ndarray, t0: float) -> tuple[np.ndarray, np.ndarray]:
    """(start, end) in seconds relative to ``t0`` from ts and dur in microseconds."""
    start = (ts - t0) * US
    return start, start + dur * US


def _build_kernels(k: Block, launches: Launches, t0: float) -> Kernels:
    ts = k.ts
    if ts.size > 1 and not bool(np.all(ts[1:] >= ts[:-1])):
        order = np.argsort(ts, kind="stable")
        cols = [c[order] for c in k.ints]
        ts, dur = ts[order], k.dur[order]
    else:  # already in time order (the usual case): no copies
        cols, dur = k.ints, k.dur
    start, end = _seconds(ts, dur, t0)
    corr = cols[4]
    # The kernel's process is its launch call's (matched by correlation id).
    pid = np.full(corr.size, -1, dtype=np.int64)
    if len(launches):
        lo = np.argsort(launches.correlation, kind="stable")
        sc = launches.correlation[lo]
        pos = np.clip(np.searchsorted(sc, corr), 0, max(sc.size - 1, 0))
        hit = sc[pos] == corr
        pid[hit] = launches.pid[lo][pos[hit]]
    return Kernels(
        name_id=cols[0], short_id=cols[1], start_s=start, end_s=end,
        device=cols[2], stream=cols[3], correlation=corr, pid=pid,
        grid=np.column_stack(cols[5:8]), block=np.column_stack(cols[8:11]),
        registers_per_thread=cols[11], shared_mem_bytes=cols[12],
    )  # fmt: skip


def _build_trace(
    path: Path, doc_rest: dict[str, Any], cols: _Columns, strings: StringTable
) -> Trace:
    cols.flush()
    with ThreadPoolExecutor(max_workers=2) as pool:  # concatenating parts: plain copies
        kb, lb, rb, cb = pool.map(cols.table, ("kernel", "launch", "range", "copy"))
    warnings: list[str] = []
    kb, lb, rb, cb = (
        plausible_block(b, t, warnings) for b, t in zip((kb, lb, rb, cb), TABLES, strict=True)
    )
    t0 = _origin([kb, lb, rb, cb])
    rs, re_ = _seconds(rb.ts, rb.dur, t0)
    ranges = NvtxRanges(
        name_id=rb.ints[0], start_s=rs, end_s=re_, pid=rb.ints[1], tid=rb.ints[2],
        kind=np.full(len(rb), RANGE_PUSH_POP),
    )  # fmt: skip
    # Nesting (sorts over every range start and end) runs beside the kernel and launch columns:
    # both are numpy work that releases the GIL, and a large trace has a core to spare here.
    with ThreadPoolExecutor(max_workers=1) as pool:
        nesting = pool.submit(assign_nesting, ranges)
        ls, le = _seconds(lb.ts, lb.dur, t0)
        launches = Launches(lb.ints[0], lb.ints[1], lb.ints[2], ls, le)
        cs, ce = _seconds(cb.ts, cb.dur, t0)
        copies = Copies(
            start_s=cs, end_s=ce, device=cb.ints[0], stream=cb.ints[1], correlation=cb.ints[2],
            pid=np.full(len(cb), -1, dtype=np.int64), size_bytes=cb.ints[3],
            is_memset=cb.ints[4].astype(bool),
        )  # fmt: skip
        kernels = _build_kernels(kb, launches, t0)
        nesting.result()
    trace = Trace(
        source="kineto", path=str(path), strings=strings, kernels=kernels, launches=launches,
        ranges=ranges, copies=copies, gpus=_gpus(doc_rest.get("deviceProperties")),
        time_origin_s=t0 * US, warnings=warnings,
    )  # fmt: skip
    if not len(trace.kernels):
        trace.warnings.append("no GPU kernel events (was the profiler run with CUDA activity?)")
    return trace


def _gpus(props: Any) -> list[GpuInfo]:
    """``deviceProperties`` → GPU info (Kineto gives no bandwidth or clock; odd values → ``None``)."""
    out: list[GpuInfo] = []
    for p in props[:1024] if isinstance(props, list) else []:
        if not isinstance(p, dict) or "name" not in p:
            continue
        major, minor = p.get("computeMajor"), p.get("computeMinor")
        cc = None
        if type(major) is int and type(minor) is int and 0 <= major < 100 and 0 <= minor < 100:
            cc = f"{major}.{minor}"
        out.append(
            GpuInfo(name=str(p["name"])[:256], device=to_int(p.get("id"), 0),
                    sm_count=positive_int(p.get("numSms")),
                    memory_bytes=positive_int(p.get("totalGlobalMem")),
                    l2_cache_bytes=positive_int(p.get("l2CacheSize")), compute_capability=cc)
        )  # fmt: skip
    return out


def _memory_bytes() -> int:
    """This machine's physical memory (bytes; 64 GiB where the OS does not say)."""
    try:
        return int(os.sysconf("SC_PHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (AttributeError, ValueError, OSError):
        return 64 << 30


def _decompress(path: Path, limit: int | None = None) -> bytes:
    """A ``.json.gz`` trace decompressed in memory, at most ``limit`` bytes (default: half the
    machine's memory): a gzip bomb, or a trace too large to hold, is refused before it is
    allocated, with the way out (decompress it, and the file is streamed)."""
    limit = _memory_bytes() // 2 if limit is None else limit
    out = bytearray()
    try:
        with gzip.open(path, "rb") as fh:
            while chunk := fh.read(min(64 << 20, limit + 1 - len(out))):
                out += chunk
                if len(out) > limit:
                    raise InputError(
                        path,
                        f"decompresses to more than {limit / 2**30:.1f} GiB (half this machine's "
                        f"memory): gunzip it and pass the .json, which is read in bounded memory",
                    )
    except (OSError, EOFError, zlib.error) as exc:
        raise InputError(path, f"corrupt gzip data ({' '.join(str(exc).split())})") from exc
    return bytes(out)


def _load_document(path: Path) -> dict[str, Any]:
    """A gzip-compressed trace, whole (the pure-Python path; the native one scans the bytes)."""
    try:
        doc = orjson.loads(_decompress(path))
    except orjson.JSONDecodeError as exc:
        raise InputError(path, f"not valid JSON ({exc.msg} at byte {exc.pos})") from exc
    if not isinstance(doc, dict) or not isinstance(doc.get("traceEvents"), list):
        raise InputError(path, _NOT_KINETO)
    return doc


#: A file without a ``traceEvents`` key is parsed whole, to say whether it is JSON at all, only
#: up to this size (larger ones: judged by the first byte).
_JSON_PROBE_BYTES = 16 << 20


def _not_kineto(path: Path, gz: bool) -> str:
    """Why a file without a ``traceEvents`` array is not a trace: not JSON, or JSON of another kind."""
    if gz or path.stat().st_size > _JSON_PROBE_BYTES:
        head = read_head(path, 4096).lstrip(b"\xef\xbb\xbf \t\r\n")
        ok = gz or head[:1] in (b"{", b"[")
        return _NOT_KINETO if ok else "not JSON: not a PyTorch profiler (Kineto) trace"
    try:
        orjson.loads(path.read_bytes())
    except orjson.JSONDecodeError as exc:
        return (
            f"not valid JSON ({exc.msg} at byte {exc.pos}): not a PyTorch profiler (Kineto) trace"
        )
    return _NOT_KINETO


def _decode_name(raw: bytes) -> str:
    """A name as the native scanner hands it over (raw JSON string bytes, already valid UTF-8)."""
    if b"\\" not in raw:
        return raw.decode("utf-8")
    try:
        return str(orjson.loads(b'"' + raw + b'"'))
    except orjson.JSONDecodeError as exc:
        raise StreamError(f"malformed string {raw[:40]!r}... ({exc.msg})") from exc


def _add_parts(parts: list[kineto_scan.Part], cols: _Columns, strings: StringTable) -> None:
    """Put the native scanner's rows into ``cols``, its name indices replaced by string ids."""
    for part in parts:
        names = [_decode_name(raw) for raw in part.names]
        ids = np.array([strings.intern(n) for n in names], dtype=np.int64)
        kernel_names = part.tables["kernel"].ints[0]
        if len(kernel_names):
            used = np.flatnonzero(np.bincount(kernel_names, minlength=len(names)))
            short = np.zeros(len(names), dtype=np.int64)
            short[used] = [strings.intern(short_kernel_name(names[i])) for i in used.tolist()]
            part.tables["kernel"].ints[1] = short[kernel_names]
            part.tables["kernel"].ints[0] = ids[kernel_names]
        range_names = part.tables["range"].ints[0]
        if len(range_names):
            part.tables["range"].ints[0] = ids[range_names]
        for table, block in part.tables.items():
            assert len(block.ints) == len(INT_COLUMNS[table]), table  # C and Python layouts agree
            if len(block):
                cols.blocks[table].append(block)


class KinetoJsonReader:
    """Reads one Kineto JSON trace; :meth:`read` returns the :class:`Trace`.

    ``threads`` bounds the native scanner's parallelism (default: the CPUs available).
    """

    def __init__(self, path: str | Path, threads: int | None = None) -> None:
        self.path = check_input_file(path)
        self.threads = threads

    def read(self) -> Trace:
        """Parse kernels, launches, ``record_function`` ranges, copies and device properties.

        The native scanner (:mod:`rooflens.traces.kineto_scan`) reads plain and gzip files when
        it was built; otherwise plain files are streamed by :mod:`rooflens.traces.json_stream`
        (bounded memory, only the event categories rooflens reads are parsed) and gzip files
        are loaded whole.  Both give the same :class:`Trace`.
        """
        cols = _Columns()
        strings = StringTable()
        gz = read_head(self.path, 2) == b"\x1f\x8b"
        try:
            if kineto_scan.available():
                if gz:
                    head, parts = kineto_scan.scan_bytes(_decompress(self.path))
                else:
                    head, parts = kineto_scan.scan_file(self.path, self.threads)
                _add_parts(parts, cols, strings)
                return _build_trace(self.path, head, cols, strings)
            if gz:
                doc = _load_document(self.path)
                _collect(doc.pop("traceEvents"), cols, strings)
                return _build_trace(self.path, doc, cols, strings)
            head, batches = iter_events(self.path)
            for batch in batches:
                _collect(batch, cols, strings)
                cols.flush()
        except StreamError as exc:
            if "no traceEvents" in str(exc):
                raise InputError(self.path, _not_kineto(self.path, gz)) from exc
            raise InputError(self.path, f"not valid JSON: {exc}") from exc
        except orjson.JSONDecodeError as exc:
            raise InputError(self.path, f"not valid JSON ({exc.msg})") from exc
        except MemoryError as exc:
            raise InputError(self.path, "too large to load into memory") from exc
        return _build_trace(self.path, head, cols, strings)


def read_kineto_json(path: str | Path) -> Trace:
    """Read a PyTorch profiler (Kineto) JSON trace into a :class:`Trace` (seconds, bytes)."""
    return KinetoJsonReader(path).read()
