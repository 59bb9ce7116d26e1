"""Small tables of an nsys SQLite export (strings, GPUs) and the sanity filter of its event rows.

Every value read here may be corrupt: a string id may be negative or near 2**63, a name may be a
NULL, a number or a blob, a GPU's size may be text or infinite.  Nothing here allocates by a
value read from the file: the string-id map is dense only when the largest id is close to the
number of strings, otherwise a sorted table searched with ``np.searchsorted``.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

import numpy as np

from rooflens.traces.model import GpuInfo, StringTable
from rooflens.traces.sanity import positive_int

#: A dense id → string map is used while the largest id is at most this many times the number
#: of strings (plus a small floor); beyond that a corrupted id would allocate in vain.
DENSE_FACTOR = 4
DENSE_FLOOR = 1 << 16


@dataclass
class Remap:
    """nsys string id → our string id: dense (``table[id]``) or sparse (sorted ``keys``)."""

    keys: np.ndarray  # sorted nsys ids (sparse form); empty for the dense form
    values: np.ndarray  # our ids, by position in ``keys`` or indexed by the nsys id (dense)
    dense: bool

    def lookup(self, ids: np.ndarray) -> np.ndarray:
        """Our ids for ``ids`` (-1 where the id is unknown)."""
        if self.dense:
            ok = (ids >= 0) & (ids < self.values.size)
            if not self.values.size:
                return np.full(ids.shape, -1, dtype=np.int64)
            return np.where(ok, self.values[np.where(ok, ids, 0)], -1)
        if not self.keys.size:
            return np.full(ids.shape, -1, dtype=np.int64)
        pos = np.clip(np.searchsorted(self.keys, ids), 0, self.keys.size - 1)
        return np.where(self.keys[pos] == ids, self.values[pos], -1)


def read_strings(con: sqlite3.Connection, tables: set[str]) -> tuple[StringTable, Remap]:
    """The ``StringIds`` table as our string table and the id map (bad ids skipped)."""
    strings = StringTable()
    if "StringIds" not in tables:
        return strings, Remap(np.zeros(0, np.int64), np.zeros(0, np.int64), dense=True)
    ids: list[int] = []
    ours: list[int] = []
    sql = (
        "SELECT CAST(id AS INTEGER), CAST(value AS TEXT) FROM StringIds "
        "WHERE id IS NOT NULL AND CAST(id AS INTEGER) >= 0 ORDER BY 1"
    )
    for sid, value in con.execute(sql):
        ids.append(int(sid))
        ours.append(strings.intern(value if isinstance(value, str) else ""))
    keys = np.array(ids, dtype=np.int64)
    vals = np.array(ours, dtype=np.int64)
    top = int(keys[-1]) if keys.size else -1
    if top < DENSE_FACTOR * keys.size + DENSE_FLOOR:
        table = np.full(top + 1, -1, dtype=np.int64)
        table[keys] = vals  # duplicate ids (a corrupt table): the last one wins
        return strings, Remap(np.zeros(0, np.int64), table, dense=True)
    last = np.r_[keys[1:] != keys[:-1], True]  # same rule for duplicates: the last one wins
    return strings, Remap(keys[last], vals[last], dense=False)


def lookup(remap: Remap, ids: np.ndarray, strings: StringTable | None = None) -> np.ndarray:
    """nsys string ids → our ids (unknown ids become the interned ``"<unknown>"`` when ``strings``)."""
    out = remap.lookup(ids)
    if strings is not None and bool(np.any(out < 0)):
        out[out < 0] = strings.intern("<unknown>")
    return out


# nsys column → GpuInfo field (memoryBandwidth is bytes/s, clockRate Hz: already SI).
_GPU_COLUMNS = {
    "smCount": "sm_count",
    "memoryBandwidth": "memory_bandwidth_bps",
    "l2CacheSize": "l2_cache_bytes",
    "clockRate": "clock_hz",
    "totalMemory": "memory_bytes",
}
_FLOAT_FIELDS = ("memory_bandwidth_bps", "clock_hz")


def read_gpus(con: sqlite3.Connection, tables: set[str]) -> list[GpuInfo]:
    """GPUs from ``TARGET_INFO_GPU`` (columns vary by nsys version: take what is there)."""
    if "TARGET_INFO_GPU" not in tables:
        return []
    cols = [r[1] for r in con.execute("PRAGMA table_info(TARGET_INFO_GPU)")]
    wanted = [c for c in ("id", "name", *_GPU_COLUMNS, "computeMajor", "computeMinor") if c in cols]
    if "name" not in wanted:
        return []
    select = ", ".join(f'"{c}"' for c in wanted)
    out: list[GpuInfo] = []
    for row in con.execute(f"SELECT {select} FROM TARGET_INFO_GPU LIMIT 1024"):
        out.append(_gpu_from_row(dict(zip(wanted, row, strict=True))))
    return out


def _gpu_from_row(rec: dict[str, object]) -> GpuInfo:
    kw: dict[str, object] = {}
    for col, fld in _GPU_COLUMNS.items():
        v = positive_int(rec.get(col))
        if v is not None:
            kw[fld] = float(v) if fld in _FLOAT_FIELDS else v
    major, minor = rec.get("computeMajor"), rec.get("computeMinor")
    if isinstance(major, int) and isinstance(minor, int) and 0 <= major < 100 and 0 <= minor < 100:
        kw["compute_capability"] = f"{major}.{minor}"
    dev = rec.get("id")
    name = rec["name"]
    text = name.decode("utf-8", "replace") if isinstance(name, bytes) else str(name or "")
    device = dev if isinstance(dev, int) and 0 <= dev < 2**31 else 0
    return GpuInfo(name=text[:256] or "unknown GPU", device=device, **kw)  # type: ignore[arg-type]
