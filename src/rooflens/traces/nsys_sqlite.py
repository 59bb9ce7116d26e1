"""Nsight Systems SQLite export (``nsys export --type sqlite``) → :class:`~rooflens.traces.model.Trace`.

nsys stores times as integer nanoseconds and threads as serialized ``globalTid`` values
(``pid = (globalTid >> 24) & 0xFFFFFF``, ``tid = globalTid & 0xFFFFFF``); both are converted
here, once.  Rows are fetched in chunks straight into int64 arrays so ten million kernels
never become ten million Python tuples at once.  Tables that nsys creates lazily (memcpy,
memset, driver API) may be absent; kernels are required, NVTX is optional (a trace without
ranges still gets a whole-trace overview).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from rooflens.errors import InputError
from rooflens.traces.files import check_input_file, read_head
from rooflens.traces.model import (
    RANGE_PUSH_POP,
    RANGE_START_END,
    Copies,
    GpuInfo,
    Kernels,
    Launches,
    NvtxRanges,
    StringTable,
    Trace,
)
from rooflens.traces.nesting import assign_nesting

SQLITE_MAGIC = b"SQLite format 3\x00"
NS = 1e-9  # nsys timestamps are nanoseconds
NVTX_PUSH_POP = 59
NVTX_START_END = 60
_CHUNK = 262_144

_KERNEL_COLS = (
    "start, end, deviceId, streamId, correlationId, globalPid, demangledName, shortName, "
    "gridX, gridY, gridZ, blockX, blockY, blockZ, registersPerThread, "
    "staticSharedMemory + dynamicSharedMemory"
)


def _pid(global_tid: np.ndarray) -> np.ndarray:
    return (global_tid >> 24) & 0xFFFFFF


def _tid(global_tid: np.ndarray) -> np.ndarray:
    return global_tid & 0xFFFFFF


class NsysSqliteReader:
    """Reads one nsys SQLite export; :meth:`read` returns the :class:`Trace`."""

    def __init__(self, path: str | Path) -> None:
        self.path = check_input_file(path)
        if not read_head(self.path, 16).startswith(SQLITE_MAGIC):
            raise InputError(self.path, "not an SQLite database (expected an nsys SQLite export)")

    def read(self) -> Trace:
        """Parse kernels, launches, NVTX ranges, copies and GPU info (SI units)."""
        uri = f"file:{self.path.resolve().as_posix()}?mode=ro&immutable=1"
        try:
            con = sqlite3.connect(uri, uri=True)
        except sqlite3.Error as exc:
            raise InputError(self.path, f"cannot open SQLite database ({exc})") from exc
        # Names are C++ signatures from arbitrary programs: never fail on a stray non-UTF-8 byte.
        con.text_factory = lambda b: b.decode("utf-8", "replace")
        try:
            return self._read(con)
        except sqlite3.OperationalError as exc:
            if "no such column" in str(exc):
                raise InputError(self.path, f"unsupported nsys export schema ({exc})") from exc
            raise InputError(self.path, f"corrupt or truncated SQLite database ({exc})") from exc
        except sqlite3.DatabaseError as exc:
            raise InputError(self.path, f"corrupt or truncated SQLite database ({exc})") from exc
        finally:
            con.close()

    def _read(self, con: sqlite3.Connection) -> Trace:
        tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if "CUPTI_ACTIVITY_KIND_KERNEL" not in tables:
            raise InputError(
                self.path,
                "no CUPTI_ACTIVITY_KIND_KERNEL table: the capture has no CUDA kernels "
                "(profile with `nsys profile -t cuda,nvtx`)",
            )
        strings, remap = _read_strings(con, tables)
        trace = Trace(
            source="nsys",
            path=str(self.path),
            strings=strings,
            kernels=_read_kernels(con, remap),
            launches=_read_launches(con, tables),
            ranges=_read_ranges(con, tables, strings, remap),
            copies=_read_copies(con, tables),
            gpus=_read_gpus(con, tables),
        )
        if "NVTX_EVENTS" not in tables:
            trace.warnings.append("no NVTX_EVENTS table: no ranges, whole-trace overview only")
        return trace


def read_nsys_sqlite(path: str | Path) -> Trace:
    """Read an nsys SQLite export into a :class:`Trace` (times in seconds, sizes in bytes)."""
    return NsysSqliteReader(path).read()


def _fetch_int(con: sqlite3.Connection, sql: str, ncols: int) -> np.ndarray:
    """All rows of an integer-valued query as an ``(n, ncols)`` int64 array, fetched in chunks."""
    cur = con.execute(sql)
    parts: list[np.ndarray] = []
    while True:
        rows = cur.fetchmany(_CHUNK)
        if not rows:
            break
        parts.append(np.array(rows, dtype=np.int64).reshape(len(rows), ncols))
    if not parts:
        return np.zeros((0, ncols), dtype=np.int64)
    return np.concatenate(parts) if len(parts) > 1 else parts[0]


def _read_strings(con: sqlite3.Connection, tables: set[str]) -> tuple[StringTable, np.ndarray]:
    """The StringIds table as our string table, and an array mapping nsys id → our id."""
    if "StringIds" not in tables:
        return StringTable(), np.zeros(0, dtype=np.int64)
    rows = con.execute("SELECT id, value FROM StringIds ORDER BY id").fetchall()
    strings = StringTable()
    top = rows[-1][0] if rows else -1
    remap = np.full(top + 1, -1, dtype=np.int64)
    for sid, value in rows:
        remap[sid] = strings.intern(value if isinstance(value, str) else str(value))
    return strings, remap


def _lookup(remap: np.ndarray, ids: np.ndarray, strings: StringTable | None = None) -> np.ndarray:
    """nsys string ids → our ids (unknown ids become the interned ``"<unknown>"``)."""
    ok = (ids >= 0) & (ids < remap.size)
    out = np.where(ok, remap[np.where(ok, ids, 0)] if remap.size else -1, -1)
    if strings is not None and bool(np.any(out < 0)):
        out[out < 0] = strings.intern("<unknown>")
    return out


def _read_kernels(con: sqlite3.Connection, remap: np.ndarray) -> Kernels:
    a = _fetch_int(con, f"SELECT {_KERNEL_COLS} FROM CUPTI_ACTIVITY_KIND_KERNEL ORDER BY start", 16)
    return Kernels(
        name_id=_lookup(remap, a[:, 6]),
        short_id=_lookup(remap, a[:, 7]),
        start_s=a[:, 0] * NS,
        end_s=a[:, 1] * NS,
        device=a[:, 2].copy(),
        stream=a[:, 3].copy(),
        correlation=a[:, 4].copy(),
        pid=_pid(a[:, 5]),
        grid=a[:, 8:11].copy(),
        block=a[:, 11:14].copy(),
        registers_per_thread=a[:, 14].copy(),
        shared_mem_bytes=a[:, 15].copy(),
    )


def _read_launches(con: sqlite3.Connection, tables: set[str]) -> Launches:
    """CUDA runtime and driver API calls (``correlationId`` joins them to GPU work)."""
    parts = [
        _fetch_int(con, f"SELECT correlationId, globalTid, start, end FROM {t}", 4)
        for t in ("CUPTI_ACTIVITY_KIND_RUNTIME", "CUPTI_ACTIVITY_KIND_DRIVER")
        if t in tables
    ]
    a = np.concatenate(parts) if parts else np.zeros((0, 4), dtype=np.int64)
    return Launches(
        correlation=a[:, 0].copy(),
        pid=_pid(a[:, 1]),
        tid=_tid(a[:, 1]),
        start_s=a[:, 2] * NS,
        end_s=a[:, 3] * NS,
    )


def _read_ranges(
    con: sqlite3.Connection, tables: set[str], strings: StringTable, remap: np.ndarray
) -> NvtxRanges:
    """NVTX push/pop (59) and start/end (60) ranges; unterminated ranges are dropped."""
    if "NVTX_EVENTS" not in tables:
        return NvtxRanges(depth=np.zeros(0, np.int64), parent=np.zeros(0, np.int64))
    cols = {r[1] for r in con.execute("PRAGMA table_info(NVTX_EVENTS)")}
    text_id = "textId" if "textId" in cols else "NULL"
    sql = (
        f"SELECT start, end, eventType, globalTid, {text_id}, text FROM NVTX_EVENTS "
        f"WHERE eventType IN ({NVTX_PUSH_POP}, {NVTX_START_END}) AND end IS NOT NULL ORDER BY start"
    )
    rows = con.execute(sql).fetchall()
    n = len(rows)
    a = np.array([r[:4] for r in rows], dtype=np.int64).reshape(n, 4)
    name = np.array(
        [_range_name(r[4], r[5], strings, remap) for r in rows], dtype=np.int64
    ).reshape(n)
    ranges = NvtxRanges(
        name_id=name,
        start_s=a[:, 0] * NS,
        end_s=a[:, 1] * NS,
        pid=_pid(a[:, 3]),
        tid=_tid(a[:, 3]),
        kind=np.where(a[:, 2] == NVTX_PUSH_POP, RANGE_PUSH_POP, RANGE_START_END),
    )
    assign_nesting(ranges)
    return ranges


def _range_name(tid: int | None, text: str | None, strings: StringTable, remap: np.ndarray) -> int:
    if text is not None:
        return strings.intern(str(text))
    if tid is not None and 0 <= tid < remap.size and remap[tid] >= 0:
        return int(remap[tid])
    return strings.intern("<unnamed>")


def _read_copies(con: sqlite3.Connection, tables: set[str]) -> Copies:
    parts: list[np.ndarray] = []
    for table, flag in (("CUPTI_ACTIVITY_KIND_MEMCPY", 0), ("CUPTI_ACTIVITY_KIND_MEMSET", 1)):
        if table in tables:
            sql = (
                f"SELECT start, end, deviceId, streamId, correlationId, globalPid, bytes, {flag} "
                f"FROM {table}"
            )
            parts.append(_fetch_int(con, sql, 8))
    a = np.concatenate(parts) if parts else np.zeros((0, 8), dtype=np.int64)
    a = a[np.argsort(a[:, 0], kind="stable")]
    return Copies(
        start_s=a[:, 0] * NS,
        end_s=a[:, 1] * NS,
        device=a[:, 2].copy(),
        stream=a[:, 3].copy(),
        correlation=a[:, 4].copy(),
        pid=_pid(a[:, 5]),
        size_bytes=a[:, 6].copy(),
        is_memset=a[:, 7].astype(bool),
    )


# nsys column → (GpuInfo field, factor to SI). memoryBandwidth is bytes/s, clockRate Hz.
_GPU_COLUMNS: dict[str, tuple[str, float]] = {
    "smCount": ("sm_count", 1.0),
    "memoryBandwidth": ("memory_bandwidth_bps", 1.0),
    "l2CacheSize": ("l2_cache_bytes", 1.0),
    "clockRate": ("clock_hz", 1.0),
    "totalMemory": ("memory_bytes", 1.0),
}


def _read_gpus(con: sqlite3.Connection, tables: set[str]) -> list[GpuInfo]:
    """GPUs from ``TARGET_INFO_GPU`` (columns vary by nsys version: take what is there)."""
    if "TARGET_INFO_GPU" not in tables:
        return []
    cols = [r[1] for r in con.execute("PRAGMA table_info(TARGET_INFO_GPU)")]
    wanted = [c for c in ("id", "name", *_GPU_COLUMNS, "computeMajor", "computeMinor") if c in cols]
    if "name" not in wanted:
        return []
    out: list[GpuInfo] = []
    for row in con.execute(f"SELECT {', '.join(wanted)} FROM TARGET_INFO_GPU"):
        rec = dict(zip(wanted, row, strict=True))
        out.append(_gpu_from_row(rec))
    return out


def _gpu_from_row(rec: dict[str, object]) -> GpuInfo:
    kw: dict[str, object] = {}
    for col, (fld, factor) in _GPU_COLUMNS.items():
        v = rec.get(col)
        if isinstance(v, int | float) and v > 0:
            kw[fld] = float(v) * factor if fld in ("memory_bandwidth_bps", "clock_hz") else int(v)
    major, minor = rec.get("computeMajor"), rec.get("computeMinor")
    if major is not None and minor is not None:
        kw["compute_capability"] = f"{major}.{minor}"
    dev = rec.get("id")
    return GpuInfo(name=str(rec["name"]), device=int(dev) if isinstance(dev, int) else 0, **kw)  # type: ignore[arg-type]


def iter_tables(path: str | Path) -> Iterable[str]:
    """Table names of an SQLite file (used by format sniffing and tests)."""
    con = sqlite3.connect(f"file:{Path(path).resolve().as_posix()}?mode=ro&immutable=1", uri=True)
    try:
        return [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")]
    finally:
        con.close()
