"""Nsight Systems SQLite export (``nsys export --type sqlite``) → :class:`~rooflens.traces.model.Trace`.

nsys stores times as integer nanoseconds and threads as serialized ``globalTid`` values
(``pid = (globalTid >> 24) & 0xFFFFFF``, ``tid = globalTid & 0xFFFFFF``); both are converted
here, once.  Rows go straight into int64 arrays, never one Python tuple per row: through the
C extension (``_fastread.sqlite_ints``, which calls the SQLite library Python itself uses) when
it was built, else through ``np.fromiter`` over the cursor.  Tables that nsys creates lazily (memcpy,
memset, driver API) may be absent; kernels are required, NVTX is optional (a trace without
ranges still gets a whole-trace overview).

A gzip-compressed export (``.sqlite.gz``: a quarter of the size, how the repository keeps its
accuracy captures) is decompressed into a private temporary file first — SQLite reads files,
not streams — and read like any other; errors and the trace name the compressed file.
"""

from __future__ import annotations

import contextlib
import gzip
import multiprocessing as mp
import os
import shutil
import sqlite3
import tempfile
import zlib
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from rooflens.errors import InputError
from rooflens.traces.files import check_input_file, read_head
from rooflens.traces.model import (
    RANGE_PUSH_POP,
    RANGE_START_END,
    Copies,
    Kernels,
    Launches,
    NvtxRanges,
    StringTable,
    Trace,
)
from rooflens.traces.nesting import assign_nesting
from rooflens.traces.nsys_tables import Remap, lookup, read_gpus, read_strings
from rooflens.traces.sanity import NSYS_TIME_LIMIT_NS, dropped_warning, plausible_times
from rooflens.traces.sqlite_check import (
    QUICK_CHECK_MAX_BYTES,
    damage_warnings,
    one_line,
    quick_check,
)

SQLITE_MAGIC = b"SQLite format 3\x00"
GZIP_MAGIC = b"\x1f\x8b"
NS = 1e-9  # nsys timestamps are nanoseconds
NVTX_PUSH_POP = 59
NVTX_START_END = 60
_CHUNK = 262_144

# Small fields are packed in SQL, two or three per int64, and unpacked in numpy: fewer Python
# objects per row is what makes reading millions of kernels fast.  Limits: grid y/z and
# block dims < 2**16, string ids, registers, shared memory, stream < 2**31.
_KERNEL_COLS = (
    "start, end, (deviceId << 32) | streamId, (((globalPid >> 24) & 16777215) << 32) | correlationId, "
    "(shortName << 32) | demangledName, (gridX << 32) | (gridY << 16) | gridZ, "
    "(blockX << 32) | (blockY << 16) | blockZ, "
    "(registersPerThread << 32) | (staticSharedMemory + dynamicSharedMemory)"
)
_LO32 = (1 << 32) - 1
_LO16 = (1 << 16) - 1


def _dim3(packed: np.ndarray) -> np.ndarray:
    return np.stack([packed >> 32, (packed >> 16) & _LO16, packed & _LO16], axis=1)


def _load_native() -> Any:
    """The C row reader bound to the SQLite library of Python's own sqlite3 module, or None."""
    try:
        import _sqlite3

        from rooflens.traces import _fastread  # type: ignore[attr-defined]
    except ImportError:
        return None
    for lib in (getattr(_sqlite3, "__file__", None), "libsqlite3.so.0", "libsqlite3.dylib"):
        if lib:
            try:
                _fastread.sqlite_load(lib)
                return _fastread
            except OSError:
                continue
    return None


_NATIVE = _load_native()


def native_available() -> bool:
    """Whether rows are read by the C extension (``ROOFLENS_NATIVE=0`` turns it off)."""
    return _NATIVE is not None and os.environ.get("ROOFLENS_NATIVE") != "0"


def _native_uri(con: sqlite3.Connection) -> str:
    """The URI the C reader opens for a query on ``con``; "" when the Python cursor reads it."""
    return getattr(con, "uri", "") if native_available() else ""


class _Connection(sqlite3.Connection):
    """A connection that knows its URI, so the native reader can open its own on the file."""

    uri = ""


def _connect(uri: str) -> _Connection:
    con = sqlite3.connect(uri, uri=True, factory=_Connection)
    con.uri = uri
    # Names are C++ signatures from arbitrary programs: never fail on a stray non-UTF-8 byte.
    con.text_factory = lambda b: b.decode("utf-8", "replace")
    return con


def _pid(global_tid: np.ndarray) -> np.ndarray:
    return (global_tid >> 24) & 0xFFFFFF


def _tid(global_tid: np.ndarray) -> np.ndarray:
    return global_tid & 0xFFFFFF


class NsysSqliteReader:
    """Reads one nsys SQLite export; :meth:`read` returns the :class:`Trace`."""

    def __init__(self, path: str | Path, shown_as: Path | None = None) -> None:
        self.path = check_input_file(path)
        #: the name errors and the trace give (the ``.sqlite.gz`` of a decompressed copy)
        self.shown = shown_as or self.path
        if not read_head(self.path, 16).startswith(SQLITE_MAGIC):
            raise InputError(self.shown, "not an SQLite database (expected an nsys SQLite export)")

    def _uri(self) -> str:
        return f"file:{self.path.resolve().as_posix()}?mode=ro&immutable=1"

    def read(self) -> Trace:
        """Parse kernels, launches, NVTX ranges, copies and GPU info (SI units).

        Damage is never silent: a truncated file or a failed ``quick_check`` is a warning on
        the trace when the tables still read, part of the error when they do not.
        """
        try:
            con = _connect(self._uri())
        except sqlite3.Error as exc:
            raise InputError(self.shown, f"cannot open SQLite database ({one_line(exc)})") from exc
        damage: list[str] = []
        try:
            damage = damage_warnings(self.path, con)
            trace = self._read(con)
        except sqlite3.OperationalError as exc:
            if "no such column" in str(exc):
                raise InputError(
                    self.shown, f"unsupported nsys export schema ({one_line(exc)})"
                ) from exc
            raise self._corrupt(con, exc, damage) from exc
        except (sqlite3.DatabaseError, ValueError) as exc:
            raise self._corrupt(con, exc, damage) from exc
        finally:
            con.close()
        trace.warnings[:0] = damage
        return trace

    def _corrupt(self, con: sqlite3.Connection, exc: Exception, damage: list[str]) -> InputError:
        """The one-line error for a database that failed mid-read, with what the checks found."""
        if not damage and self.path.stat().st_size > QUICK_CHECK_MAX_BYTES:
            bad = quick_check(con)  # skipped up front for a large file: worth it now
            damage = [f"quick_check: {bad}"] if bad else []
        found = f"; {'; '.join(damage)}" if damage else ""
        return InputError(
            self.shown, f"corrupt or truncated SQLite database ({one_line(exc)}){found}"
        )

    def _read(self, con: sqlite3.Connection) -> Trace:
        tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if "CUPTI_ACTIVITY_KIND_KERNEL" not in tables:
            raise InputError(
                self.shown,
                "no CUPTI_ACTIVITY_KIND_KERNEL table: the capture has no CUDA kernels "
                "(profile with `nsys profile -t cuda,nvtx`)",
            )
        strings, remap = read_strings(con, tables)
        (n,) = con.execute("SELECT COUNT(*) FROM CUPTI_ACTIVITY_KIND_KERNEL").fetchone()
        host = _start_host_side(self._uri(), tables, con, n)
        warnings: list[str] = []
        kernels = _read_kernels(con, remap, strings, n, warnings)
        launch_rows, range_rows = host()
        trace = Trace(
            source="nsys",
            path=str(self.shown),
            strings=strings,
            kernels=kernels,
            launches=_build_launches(launch_rows, warnings),
            ranges=_build_ranges(range_rows, strings, remap, warnings),
            copies=_read_copies(con, tables, warnings),
            gpus=read_gpus(con, tables),
            warnings=warnings,
        )
        if "NVTX_EVENTS" not in tables:
            trace.warnings.append(
                "no NVTX_EVENTS table: no ranges (runs, steps and layers are inferred from the kernels)"
            )
        return trace


#: Above this many kernels the host-side tables are read by a forked helper process while
#: this one reads the kernels: reading rows from SQLite is bound by one core per process.
PARALLEL_MIN_KERNELS = 200_000


def _host_side(uri: str, tables: set[str]) -> tuple[np.ndarray, RawRanges | None]:
    """Launch and NVTX rows (run in the helper thread or process: opens its own connection)."""
    con = _connect(uri)
    try:
        return _fetch_launches(con, tables), _fetch_ranges(con, tables)
    finally:
        con.close()


def _start_host_side(
    uri: str, tables: set[str], con: sqlite3.Connection, n_kernels: int
) -> Callable[[], tuple[np.ndarray, RawRanges | None]]:
    """Start reading launches and ranges (beside the kernels for large traces: on a thread with
    the C reader, else in a forked process); returns the getter."""
    pool: Executor | None = None
    if n_kernels >= PARALLEL_MIN_KERNELS and (os.cpu_count() or 1) >= 2:
        if native_available():  # the C reader releases the GIL: a thread is enough
            pool = ThreadPoolExecutor(max_workers=1)
        elif "fork" in mp.get_all_start_methods():
            pool = ProcessPoolExecutor(max_workers=1, mp_context=mp.get_context("fork"))
    if pool is None:
        result = (_fetch_launches(con, tables), _fetch_ranges(con, tables))
        return lambda: result
    future, executor = pool.submit(_host_side, uri, tables), pool

    def get() -> tuple[np.ndarray, RawRanges | None]:
        try:
            return future.result()
        finally:
            executor.shutdown()

    return get


def read_nsys_sqlite(path: str | Path) -> Trace:
    """Read an nsys SQLite export, plain or gzip-compressed, into a :class:`Trace` (times in
    seconds, sizes in bytes)."""
    p = check_input_file(path)
    if gzipped_sqlite(p):
        with _decompressed(p) as plain:
            return NsysSqliteReader(plain, shown_as=p).read()
    return NsysSqliteReader(p).read()


def gzipped_sqlite(path: Path) -> bool:
    """Whether ``path`` is a gzip file holding an SQLite database (a compressed nsys export)."""
    if not read_head(path, 2).startswith(GZIP_MAGIC):
        return False
    try:
        with gzip.open(path, "rb") as fh:
            return fh.read(len(SQLITE_MAGIC)) == SQLITE_MAGIC
    except (OSError, EOFError, zlib.error):
        return False


#: Disk left free when decompressing an export (the temporary folder may be the system's).
_SPARE_BYTES = 256 << 20


@contextlib.contextmanager
def _decompressed(path: Path) -> Iterator[Path]:
    """``path`` decompressed into a private temporary folder, removed afterwards.  Refused,
    before the disk fills, when it would leave less than 256 MiB free there (a gzip bomb, or
    an export larger than the temporary folder: gunzip it elsewhere and pass the .sqlite)."""
    with tempfile.TemporaryDirectory(prefix="rooflens-sqlite-") as tmp:
        out = Path(tmp) / "timeline.sqlite"
        room = shutil.disk_usage(tmp).free - _SPARE_BYTES
        written = 0
        try:
            with gzip.open(path, "rb") as src, out.open("wb") as dst:
                while chunk := src.read(16 << 20):
                    written += len(chunk)
                    if written > room:
                        raise InputError(
                            path,
                            f"decompresses to more than the {max(room, 0) / 2**30:.1f} GiB free "
                            f"in {tmp}: gunzip it where there is room and pass the .sqlite",
                        )
                    dst.write(chunk)
        except (OSError, EOFError, zlib.error) as exc:
            raise InputError(path, f"corrupt gzip data ({one_line(exc)})") from exc
        yield out


def _fetch_int(con: sqlite3.Connection, sql: str, ncols: int, count: int = -1) -> np.ndarray:
    """All rows of an integer-valued query as an ``(n, ncols)`` int64 array.

    ``np.fromiter`` consumes the cursor row by row into a packed buffer: no list of tuples
    is ever built, which halves time and memory against ``fetchall`` for millions of rows.
    A known row ``count`` lets it allocate once instead of growing.

    A corrupt file may hold text, reals, blobs or NULL in an integer column.  Both paths read
    them as SQLite's own integer conversion (``sqlite3_column_int64`` in C, ``CAST(x AS
    INTEGER)`` here; NULL is 0), so they agree; the sanity filters drop what is impossible.
    """
    uri = _native_uri(con)
    if uri:
        try:
            data, n = _NATIVE.sqlite_ints(uri, sql, ncols)
            return np.frombuffer(data, dtype=np.int64).reshape(n, ncols)
        except ValueError:
            pass  # the query below raises sqlite3's own error for this file
    names = ", ".join(f"c{i}" for i in range(ncols))
    ints = ", ".join(f"coalesce(CAST(c{i} AS INTEGER), 0)" for i in range(ncols))
    cur = con.execute(f"WITH q({names}) AS ({sql}) SELECT {ints} FROM q")
    dtype = np.dtype([(f"c{i}", np.int64) for i in range(ncols)])
    rows = np.fromiter(cur, dtype=dtype, count=count)
    if count >= 0 and cur.fetchone() is not None:
        raise ValueError("the table holds more rows than it counts")
    return rows.view(np.int64).reshape(rows.shape[0], ncols)


def _keep(a: np.ndarray, ok: np.ndarray, what: str, why: str, warnings: list[str]) -> np.ndarray:
    """Rows of ``a`` where ``ok``; the dropped ones are counted in ``warnings``."""
    dropped = int(a.shape[0] - np.count_nonzero(ok))
    if not dropped:
        return a
    warnings.append(dropped_warning(what, dropped, int(a.shape[0]), why))
    return a[ok]


def _read_kernels(
    con: sqlite3.Connection, remap: Remap, strings: StringTable, n: int, warnings: list[str]
) -> Kernels:
    a = _fetch_int(con, f"SELECT {_KERNEL_COLS} FROM CUPTI_ACTIVITY_KIND_KERNEL", 8, n)
    ok = plausible_times(a[:, 0], a[:, 1], NSYS_TIME_LIMIT_NS, positive=True)
    ok &= (a[:, 5] >= 0) & (a[:, 6] >= 0) & (a[:, 7] >= 0)  # packed sizes: a negative one shows
    a = _keep(a, ok, "kernels", "end not after start, time out of range or negative size", warnings)
    a = a[np.argsort(a[:, 0], kind="stable")]
    return Kernels(
        name_id=lookup(remap, a[:, 4] & _LO32, strings),
        short_id=lookup(remap, a[:, 4] >> 32, strings),
        start_s=a[:, 0] * NS,
        end_s=a[:, 1] * NS,
        device=a[:, 2] >> 32,
        stream=a[:, 2] & _LO32,
        correlation=a[:, 3] & _LO32,
        pid=a[:, 3] >> 32,
        grid=_dim3(a[:, 5]),
        block=_dim3(a[:, 6]),
        registers_per_thread=a[:, 7] >> 32,
        shared_mem_bytes=a[:, 7] & _LO32,
    )


# API calls that queue GPU work (kernels, graphs, copies, sets).  Most API calls do not
# (a PyTorch process makes thousands of cuGetProcAddress calls); skipping them in SQL keeps
# them out of Python.  Every CUDA launch entry point has "Launch" in its name.
_LAUNCH_NAMES = "value LIKE '%Launch%' OR value LIKE 'cu%Memcpy%' OR value LIKE 'cu%Memset%'"


def _launch_filter(tables: set[str]) -> str:
    if "StringIds" not in tables:
        return ""
    return f" WHERE nameId IN (SELECT id FROM StringIds WHERE {_LAUNCH_NAMES})"


def _fetch_launches(con: sqlite3.Connection, tables: set[str]) -> np.ndarray:
    """Raw (correlationId, globalTid, start, end) rows of the launching API calls."""
    parts = [
        _fetch_int(
            con, f"SELECT correlationId, globalTid, start, end FROM {t}{_launch_filter(tables)}", 4
        )
        for t in ("CUPTI_ACTIVITY_KIND_RUNTIME", "CUPTI_ACTIVITY_KIND_DRIVER")
        if t in tables
    ]
    return np.concatenate(parts) if parts else np.zeros((0, 4), dtype=np.int64)


def _build_launches(a: np.ndarray, warnings: list[str]) -> Launches:
    """CUDA runtime and driver API calls that launch GPU work (``correlationId`` joins them to it)."""
    ok = plausible_times(a[:, 2], a[:, 3], NSYS_TIME_LIMIT_NS, positive=False)
    a = _keep(a, ok, "launch calls", "end before start or time out of range", warnings)
    return Launches(
        correlation=a[:, 0].copy(),
        pid=_pid(a[:, 1]),
        tid=_tid(a[:, 1]),
        start_s=a[:, 2] * NS,
        end_s=a[:, 3] * NS,
    )


#: NVTX rows (start, end, eventType, globalTid, textId), each row's inline-text index (-1: none)
#: and those distinct texts.
RawRanges = tuple[np.ndarray, np.ndarray, list[str]]


def _fetch_ranges(con: sqlite3.Connection, tables: set[str]) -> RawRanges | None:
    """Raw NVTX range rows (start, end, eventType, globalTid, textId) and their inline texts."""
    if "NVTX_EVENTS" not in tables:
        return None
    cols = {r[1] for r in con.execute("PRAGMA table_info(NVTX_EVENTS)")}
    text_id = "textId" if "textId" in cols else "NULL"
    where = f"WHERE eventType IN ({NVTX_PUSH_POP}, {NVTX_START_END}) AND end IS NOT NULL"
    # Two plain scans of one table return rows in the same (rowid) order: integers through
    # fromiter, inline texts as one list interned through a dict (no per-row tuple).
    a = _fetch_int(
        con,
        f"SELECT start, end, eventType, globalTid, coalesce({text_id}, -1) FROM NVTX_EVENTS {where}",
        5,
    )
    sql = f"SELECT text FROM NVTX_EVENTS {where}"  # C: sqlite3_column_text, the same conversion
    uri = _native_uri(con)
    if uri:
        try:
            ids, raw = _NATIVE.sqlite_texts(uri, sql)
            return (
                a,
                np.frombuffer(ids, dtype=np.int64),
                [b.decode("utf-8", "replace") for b in raw],
            )
        except ValueError:
            pass
    table: dict[str, int] = {}
    text_ids = np.fromiter(
        (
            -1 if t is None else table.setdefault(str(t), len(table))
            for (t,) in con.execute(f"SELECT CAST(text AS TEXT) FROM NVTX_EVENTS {where}")
        ),
        dtype=np.int64,
    )
    return a, text_ids, list(table)


def _build_ranges(
    raw: RawRanges | None, strings: StringTable, remap: Remap, warnings: list[str]
) -> NvtxRanges:
    """NVTX push/pop (59) and start/end (60) ranges with nesting; unterminated ranges are dropped."""
    if raw is None:
        return NvtxRanges(depth=np.zeros(0, np.int64), parent=np.zeros(0, np.int64))
    a, text_ids, texts = raw
    if text_ids.shape[0] != a.shape[0]:
        raise ValueError("NVTX_EVENTS gave different rows to two scans")
    ours = np.array([strings.intern(t) for t in texts] + [-1], dtype=np.int64)
    name = ours[text_ids]  # -1 (no inline text) picks the trailing -1
    ok = plausible_times(a[:, 0], a[:, 1], NSYS_TIME_LIMIT_NS, positive=False)
    a = _keep(a, ok, "NVTX ranges", "end before start or time out of range", warnings)
    name = name[ok]
    order = np.argsort(a[:, 0], kind="stable")
    a, name = a[order], name[order]
    by_id = lookup(remap, a[:, 4])
    name = np.where(name >= 0, name, by_id)
    if bool(np.any(name < 0)):
        name[name < 0] = strings.intern("<unnamed>")
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


def _read_copies(con: sqlite3.Connection, tables: set[str], warnings: list[str]) -> Copies:
    parts: list[np.ndarray] = []
    for table, flag in (("CUPTI_ACTIVITY_KIND_MEMCPY", 0), ("CUPTI_ACTIVITY_KIND_MEMSET", 1)):
        if table in tables:
            sql = (
                f"SELECT start, end, deviceId, streamId, correlationId, globalPid, bytes, {flag} "
                f"FROM {table}"
            )
            parts.append(_fetch_int(con, sql, 8))
    a = np.concatenate(parts) if parts else np.zeros((0, 8), dtype=np.int64)
    ok = plausible_times(a[:, 0], a[:, 1], NSYS_TIME_LIMIT_NS, positive=False) & (a[:, 6] >= 0)
    a = _keep(a, ok, "copies", "end before start, time out of range or negative bytes", warnings)
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
