"""A kernel stream's per-kernel class facts and labels, for the structure inference.

:class:`Classes` holds, per kernel in launch order, what the kernel-name table says (class,
primitive op, named operator), a token per (name, grid) for pattern matching, and the O(1)
index arithmetic the walks of :mod:`rooflens.analysis.structure` and
:mod:`rooflens.analysis.layer_ops` need (next / previous GEMM, counts of a kind in a range).
:class:`Labels` collects operator, evidence and confidence per kernel.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from rooflens.analysis.operators import KernelEntry, lookup

#: Name-table classes that are GEMM units (a GEMM plus its split-K reduction) for the walk.
_GEMM_CLASSES = frozenset({"gemm", "gemm_aux", "experts"})
#: Name-table operators that position never overrides.
_NAMED = frozenset(
    {"rope", "kv_cache_write", "attention", "act", "router", "experts", "all_reduce", "qk_norm"}
)


@dataclass
class Classes:
    """Per-kernel class facts of a stream, with the index arithmetic the walks need.

    ``_next[i]`` is the first GEMM row ≥ i and ``_prev[i]`` the last GEMM row < i (``n`` / -1
    for none), so every lookup is O(1); ``_cum[k]`` counts kernels of a kind before each row.
    """

    cls: list[str]
    op: list[str | None]
    named: list[str | None]
    name_ids: np.ndarray
    tokens: np.ndarray
    is_gemm: np.ndarray
    is_attention: np.ndarray
    _next: list[int]
    _prev: list[int]
    _cum: dict[str, np.ndarray]

    @property
    def n(self) -> int:
        return len(self.cls)

    def next_gemm(self, i: int, hi: int | None = None) -> int:
        """First GEMM row ≥ ``i`` (and < ``hi``), else -1."""
        nxt = self._next
        g = nxt[i] if i < len(nxt) else nxt[-1]
        return g if g < nxt[-1] and (hi is None or g < hi) else -1

    def prev_gemm(self, i: int, lo: int = 0) -> int:
        """Last GEMM row ≤ ``i`` (and ≥ ``lo``), else -1."""
        g = self._prev[i + 1]
        return g if g >= lo else -1

    def gemm_start(self, g: int) -> int:
        """First row of the GEMM unit holding row ``g`` (a split-K reduce belongs to its GEMM)."""
        while g > 0 and self.cls[g] == "gemm_aux" and self.is_gemm[g - 1]:
            g -= 1
        return g

    def gemm_end(self, g: int) -> int:
        """Row after the GEMM unit starting at ``g``."""
        j = g + 1
        while j < self.n and self.cls[j] == "gemm_aux":
            j += 1
        return j

    def count(self, what: str, a: int, b: int) -> int:
        """Kernels of kind ``what`` (``gemm``, ``sampling``, ``embedding``, ``norm``) in [a, b)."""
        c = self._cum[what]
        return int(c[max(b, a)] - c[a])

    def last_of(self, what: str, a: int, b: int) -> int:
        """Last row of kind ``what`` in [a, b), else -1."""
        c = self._cum[what]
        if c[b] == c[a]:
            return -1
        return int(np.searchsorted(c, c[b], side="left")) - 1

    def first_of(self, what: str, a: int, b: int) -> int:
        """First row of kind ``what`` in [a, b), else -1."""
        c = self._cum[what]
        if c[b] == c[a]:
            return -1
        return int(np.searchsorted(c, c[a] + 1, side="left")) - 1

    def op_is(self, i: int, *ops: str) -> bool:
        return self.op[i] in ops


def _is_class(cls: str, e: KernelEntry) -> bool:
    return e.cls == cls


def _tokens(name_ids: np.ndarray, grid: np.ndarray | None) -> np.ndarray:
    """One int64 per (name, grid): equal for kernels that match in a repeated pattern (a hash of
    the grid; a collision only merges two grids of the same kernel name)."""
    t = name_ids.astype(np.int64) << np.int64(32)
    if grid is not None and grid.size:
        g = grid.astype(np.int64)
        t = t + ((g[:, 0] * 73856093) ^ (g[:, 1] * 19349663) ^ (g[:, 2] * 83492791)) % (1 << 31)
    return t


def classify(
    name_ids: np.ndarray, strings: Sequence[str], grid: np.ndarray | None = None
) -> Classes:
    """Class, primitive op and named operator of every kernel (each distinct name looked up once)."""
    n = int(name_ids.size)
    uniq, inv = np.unique(name_ids, return_inverse=True)
    entries = [lookup(strings[int(u)]) for u in uniq.tolist()]
    inv = inv.reshape(-1)
    inv_list = inv.tolist()
    cls = [entries[i].cls for i in inv_list]
    op = [entries[i].op for i in inv_list]
    named = [entries[i].operator for i in inv_list]

    def per_kernel(pred: Callable[[KernelEntry], bool]) -> np.ndarray:
        return np.array([pred(e) for e in entries], dtype=bool)[inv] if n else np.zeros(0, bool)

    is_gemm = per_kernel(lambda e: e.cls in _GEMM_CLASSES)
    is_attention = per_kernel(lambda e: e.cls == "attention")
    unit = is_gemm & ~per_kernel(lambda e: e.cls == "gemm_aux")
    cum = {k: np.r_[0, np.cumsum(per_kernel(functools.partial(_is_class, k)))]
           for k in ("sampling", "embedding", "norm")}  # fmt: skip
    cum["gemm"] = np.r_[0, np.cumsum(unit)]
    rows = np.flatnonzero(unit)
    nxt = np.r_[rows, n][np.searchsorted(rows, np.arange(n + 1))]
    prv = np.r_[-1, rows][np.searchsorted(rows, np.arange(n + 1), side="left")]
    return Classes(cls, op, named, name_ids, _tokens(name_ids, grid), is_gemm, is_attention,
                   nxt.tolist(), prv.tolist(), cum)  # fmt: skip


@dataclass
class Labels:
    """Operator by position and confidence per kernel, filled by ranges step by step;
    :meth:`finish` then lets a name that names an operator win and records the evidence."""

    operator: list[str | None]
    evidence: list[str | None]
    confidence: np.ndarray

    @classmethod
    def empty(cls, n: int) -> Labels:
        return cls([None] * n, [None] * n, np.zeros(n))

    def set(self, c: Classes, i: int, operator: str, confidence: float) -> None:
        self.operator[i], self.confidence[i] = operator, confidence

    def fill(self, c: Classes, a: int, b: int, operator: str, confidence: float) -> None:
        if b > a:
            self.operator[a:b] = [operator] * (b - a)
            self.confidence[a:b] = confidence

    def finish(self, c: Classes) -> None:
        """Evidence per labelled kernel: ``name`` when the name-table's operator overrides the
        position, ``name+position`` when both say the same (a GEMM, a norm kernel in its place),
        ``position`` when only the place does."""
        for i, (pos, named) in enumerate(zip(self.operator, c.named, strict=True)):
            if pos is None:
                continue
            if named in _NAMED and named != pos:
                self.operator[i], self.evidence[i], self.confidence[i] = named, "name", 0.9
            elif named == pos or c.cls[i] in ("gemm", "gemm_aux", "norm"):
                self.evidence[i] = "name+position"
                self.confidence[i] = max(float(self.confidence[i]), 0.9)
            else:
                self.evidence[i] = "position"
