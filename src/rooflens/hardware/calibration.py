"""Calibration files: what a GPU attains, measured by ``rooflens calibrate`` (docs/calibration.md).

This module reads, validates and queries the file; it never imports torch (the benchmarks live
in :mod:`rooflens.capture.calibrate`).  A query returns **device seconds** at a shape, interpolated
over the measured grid in log–log space and made monotone where physics says so: more rows,
more bytes or more keys never take less time (a running maximum over the grid), and beyond the
largest measured point time grows in proportion to the work.  Below the smallest point the
smallest measured time holds (a kernel cannot beat the shortest kernel).

Bundled files (``hardware/calibrations/<gpu key>.json``) are chosen by GPU: the file's
``key.gpu_name`` resolves through :func:`rooflens.hardware.lookup` to a table key.
"""

from __future__ import annotations

import json
import math
import statistics
from dataclasses import dataclass, field, replace
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from rooflens.errors import InputError, RooflensError

SCHEMA_NAME = "rooflens-calibration"
SCHEMA_VERSION = 1
Arr = npt.NDArray[np.float64]
Num = float | Arr
MEMORY_KINDS = ("add", "mul", "silu", "neg", "cat", "rms_norm", "embedding")
HOST_KEYS = ("add", "mm", "rms_norm", "sdpa", "embedding", "slice_copy", "nvtx_range")


@dataclass(frozen=True)
class Curve:
    """Time (s) over a positive size (rows, bytes, keys), strictly increasing sizes.

    ``y`` is stored as measured; :meth:`at` reads its monotone reading (:func:`_monotone`),
    computed once per curve.
    """

    x: Arr
    y: Arr

    @cached_property
    def _log_monotone(self) -> tuple[Arr, Arr, Arr]:
        """(log x, log of the monotone y, the monotone y)."""
        mono = _monotone(self.y)
        return np.log(self.x), np.log(mono), mono

    def at(self, size: Num) -> Num:
        """Seconds at ``size`` (scalar or array): log–log interpolation of the monotone curve,
        constant below the grid, proportional to size above it."""
        lx, ly, mono = self._log_monotone
        s = np.maximum(np.asarray(size, dtype=float), 1e-30)
        inside = np.exp(np.interp(np.log(s), lx, ly))
        above = mono[-1] * s / self.x[-1]
        out = np.where(s > self.x[-1], above, inside)
        return float(out) if out.ndim == 0 else out


#: A later point this many times faster than the running maximum is another kernel taking over,
#: not noise (repeated points differ by percents): PyTorch's embedding runs indexSelectSmallIndex
#: up to 16 rows (11.5 µs at 16 rows of 4096 on the H200) and a vectorized gather from 64 rows
#: (2.1 µs).  The monotone reading restarts there.
KERNEL_SWITCH = 3.0


def _monotone(y: Arr) -> Arr:
    """The running maximum of ``y`` (more work never takes less time: a dip is noise), except
    that a point :data:`KERNEL_SWITCH` times below it restarts the maximum (another kernel)."""
    out = np.array(y, dtype=float)
    for i in range(1, out.size):
        if out[i] * KERNEL_SWITCH >= out[i - 1]:
            out[i] = max(out[i], out[i - 1])
    return out


@dataclass(frozen=True)
class GemmTable:
    """``x[M,K] @ w[N,K]ᵀ`` over M for one (N, K); ``kernels`` per call, per M."""

    n: int
    k: int
    curve: Curve
    kernel_names: tuple[str, ...] = ()


@dataclass(frozen=True)
class AttentionTable:
    """SDPA time over KV length for one phase, head configuration and batch."""

    phase: str
    heads: int
    kv_heads: int
    head_dim: int
    batch: int
    curve: Curve
    kernel_names: tuple[str, ...] = ()


@dataclass(frozen=True)
class HostCosts:
    """Host seconds per eager call by kind, device seconds per kernel inside a CUDA-graph replay,
    host seconds per replay call; and, in newer files, host seconds per operator of the
    built-in workload (marker included), per layer beyond its operators and per step beyond its
    layers and per-model operators (rooflens.capture.calibrate_host.bench_host_ops)."""

    eager_call_s: dict[str, float]
    graph_kernel_s: float
    graph_replay_host_s: float
    op_s: dict[str, float] = field(default_factory=dict)
    layer_extra_s: float | None = None
    step_extra_s: float | None = None
    #: (fastest, slowest) process as a factor on these costs: the host's speed is a per-process
    #: draw (calibrate_host.HOST_PROCESSES); None where one process was measured.
    spread: tuple[float, float] | None = None
    #: Host seconds per layer of calibrate_host.host_probe in the process these costs come from;
    #: a workload's own probe over it scales them to that workload's process.  None: not measured.
    probe_layer_s: float | None = None


@dataclass(frozen=True)
class Calibration:
    """One validated calibration file."""

    key: dict[str, Any]
    gemm: dict[str, list[GemmTable]]
    memory: dict[str, Curve]
    memory_kernels: dict[str, int]
    attention: dict[str, list[AttentionTable]]
    min_kernel_s: float
    host: HostCosts
    allreduce: dict[str, Any]
    source: str = ""
    method: dict[str, str] = field(default_factory=dict)
    eager: dict[str, dict[str, Curve]] = field(default_factory=dict)  # regime → kind → curve
    eager_reference: dict[str, float] = field(default_factory=dict)  # the eager section's shape
    host_nsys: HostCosts | None = None
    #: (GPUs, seconds of one all-reduce over message bytes) when more than one GPU was measured
    allreduce_curve: tuple[int, Curve] | None = None

    def allreduce_time(self, message_bytes: Num, gpus: int) -> Num | None:
        """Seconds of one all-reduce of ``message_bytes`` per GPU over ``gpus`` GPUs, or None
        when the file measured another GPU count (bus bandwidth depends on it)."""
        if self.allreduce_curve is None or self.allreduce_curve[0] != gpus:
            return None
        return self.allreduce_curve[1].at(message_bytes)

    @property
    def gpu_name(self) -> str:
        return str(self.key.get("gpu_name", ""))

    @property
    def l2_bytes(self) -> float:
        return float(self.key.get("l2_bytes") or 0.0)

    def label(self) -> str:
        """One line naming the file's key, for notes and reports."""
        k = self.key
        return (
            f"{k.get('gpu_name')}, driver {k.get('driver')}, CUDA {k.get('cuda')}, "
            f"torch {k.get('torch')} ({Path(self.source).name or 'in memory'})"
        )

    def gemm_time(self, dtype: str, m: float, n: float, k: float) -> float | None:
        """Seconds of one GEMM; the nearest measured (N, K) in log space, scaled by N·K when
        not exact (time ∝ weight size at fixed M).  None when the dtype was not measured."""
        tables = self.gemm.get(dtype)
        if not tables:
            return None
        best = min(tables, key=lambda t: math.hypot(math.log(t.n / n), math.log(t.k / k)))
        scale = (n * k) / (best.n * best.k)
        return float(best.curve.at(m)) * scale

    def memory_time(self, kind: str, nbytes: Num) -> Num:
        """Seconds of one memory-bound kernel of ``kind`` moving ``nbytes`` (``add`` if the kind
        was not measured)."""
        curve = self.memory.get(kind) or self.memory["add"]
        return curve.at(nbytes)

    def _width_curve(
        self, regime: dict[str, Curve], kind: str, width: float | None
    ) -> Curve | None:
        """The curve of ``kind`` measured at the row width nearest ``width`` (log space): the
        reference width's ``kind`` or a ``kind@w`` one; ``kind`` when no width is asked."""
        ref = self.eager_reference.get(WIDTH_KEYS.get(kind, ""))
        if not width or not ref or kind not in WIDTH_KEYS:
            return regime.get(kind)
        options = {float(ref): regime.get(kind)}
        for name, curve in regime.items():
            base, _, w = name.partition("@")
            if base == kind and w.isdigit():
                options[float(w)] = curve
        found = {w: c for w, c in options.items() if c is not None}
        if not found:
            return None
        return found[min(found, key=lambda w: abs(math.log(w / width)))]

    def eager_time(
        self, kind: str, nbytes: Num, isolated: bool = False, width: float | None = None
    ) -> Num | None:
        """Seconds of one eager operator of ``kind`` (``rope`` per tensor, ``act``, ``gelu``,
        ``kv_write`` per tensor, ``argmax``, ``rms_norm``, ``layer_norm``, ``add``, ``embedding``:
        calibrate_eager.KINDS) moving ``nbytes`` ideal
        bytes, back to back or ``isolated`` (launch-bound); None when not measured.  ``width``:
        the row width of a norm (hidden size, head size) or an argmax (vocabulary), for files
        that measured several (the nearest is used).

        The *context* curve when the file has one (L2 flushed, then the activation input
        rewritten, before every call: the state a decoder step leaves a small operator in — see
        :mod:`rooflens.capture.calibrate_eager`), else the *cold* one (L2 flushed), else the
        warm one (older files).  Warm curves measured 20–35 % fast against real H200 captures
        and fully cold ones 25–40 % slow (docs/calibration.md)."""
        names = (
            ("context_isolated", "cold_isolated", "isolated")
            if isolated
            else ("context", "cold", "back_to_back")
        )
        for name in names:
            curve = self._width_curve(self.eager.get(name) or {}, kind, width)
            if curve is not None:
                return curve.at(nbytes)
        return None

    def host_costs(self, under_nsys: bool) -> HostCosts:
        """Host costs as measured under nsys (when asked and measured), else without a profiler."""
        return self.host_nsys if under_nsys and self.host_nsys is not None else self.host

    def attention_time(
        self,
        dtype: str,
        phase: str,
        batch: float,
        heads: float,
        kv_heads: float,
        d: float,
        keys: Num,
    ) -> Num | None:
        """Seconds of one SDPA call: exact head configuration if measured (else the nearest,
        scaled by the head count), interpolated in log(batch) between measured batches."""
        # one 16-bit dtype stands for the other (calibrate measures one: their times agree)
        other = {"fp16": "bf16", "bf16": "fp16"}.get(dtype, "")
        measured = self.attention.get(dtype) or self.attention.get(other) or []
        tables = [t for t in measured if t.phase == phase]
        if not tables:
            return None

        def dist(t: AttentionTable) -> float:
            return (
                abs(math.log(t.heads / heads))
                + abs(math.log(t.kv_heads / kv_heads))
                + 4 * abs(math.log(t.head_dim / d))
            )

        near = min(tables, key=dist)
        cfg = [
            t
            for t in tables
            if (t.heads, t.kv_heads, t.head_dim) == (near.heads, near.kv_heads, near.head_dim)
        ]
        cfg.sort(key=lambda t: t.batch)
        scale = heads / near.heads * (d / near.head_dim)
        bs = [t.batch for t in cfg]
        if batch >= bs[-1]:
            return cfg[-1].curve.at(keys) * (batch / bs[-1]) * scale
        if batch <= bs[0]:
            return cfg[0].curve.at(keys) * scale
        j = int(np.searchsorted(bs, batch))
        lo, hi = cfg[j - 1], cfg[j]
        w = math.log(batch / lo.batch) / math.log(hi.batch / lo.batch)
        tl, th = np.log(lo.curve.at(keys)), np.log(hi.curve.at(keys))
        return np.exp(tl + w * (np.maximum(th, tl) - tl)) * scale


# -- reading and validating -------------------------------------------------------------------
def _curve(path: Path, where: str, x: Any, y: Any) -> Curve:
    try:
        xa, ya = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    except (TypeError, ValueError):
        raise InputError(path, f"{where}: sizes and times must be numbers") from None
    if xa.ndim != 1 or xa.shape != ya.shape or xa.size == 0:
        raise InputError(path, f"{where}: sizes and times must be non-empty lists of one length")
    if not (
        np.all(np.isfinite(xa)) and np.all(np.isfinite(ya)) and np.all(xa > 0) and np.all(ya > 0)
    ):
        raise InputError(path, f"{where}: sizes and times must be finite and positive")
    if np.any(np.diff(xa) <= 0):
        raise InputError(path, f"{where}: sizes must increase strictly")
    return Curve(xa, ya)


def _need(path: Path, d: Any, key: str, kind: type | tuple[type, ...], where: str = "") -> Any:
    if not isinstance(d, dict) or key not in d:
        raise InputError(path, f"calibration lacks {where}{key}")
    v = d[key]
    if not isinstance(v, kind) or isinstance(v, bool):
        raise InputError(path, f"calibration field {where}{key} has the wrong type")
    return v


def _gemm(path: Path, doc: dict[str, Any]) -> dict[str, list[GemmTable]]:
    out: dict[str, list[GemmTable]] = {}
    for dtype, entries in _need(path, doc, "gemm", dict).items():
        for i, e in enumerate(entries if isinstance(entries, list) else []):
            where = f"gemm.{dtype}[{i}]."
            n, k = _need(path, e, "n", int, where), _need(path, e, "k", int, where)
            curve = _curve(path, f"gemm.{dtype}[{i}]", e.get("m"), e.get("time_s"))
            out.setdefault(dtype, []).append(
                GemmTable(n, k, curve, tuple(e.get("kernel_names", ())))
            )
    return out


def _attention(path: Path, doc: dict[str, Any]) -> dict[str, list[AttentionTable]]:
    out: dict[str, list[AttentionTable]] = {}
    for dtype, entries in _need(path, doc, "attention", dict).items():
        for i, e in enumerate(entries if isinstance(entries, list) else []):
            where = f"attention.{dtype}[{i}]."
            phase = _need(path, e, "phase", str, where)
            if phase not in ("prefill", "decode"):
                raise InputError(path, f"{where}phase must be prefill or decode")
            ints = [
                _need(path, e, f, int, where) for f in ("heads", "kv_heads", "head_dim", "batch")
            ]
            if min(ints) < 1:
                raise InputError(path, f"{where}heads, kv_heads, head_dim and batch must be ≥ 1")
            curve = _curve(path, where.rstrip("."), e.get("kv_len"), e.get("time_s"))
            out.setdefault(dtype, []).append(
                AttentionTable(
                    phase,
                    ints[0],
                    ints[1],
                    ints[2],
                    ints[3],
                    curve,
                    tuple(e.get("kernel_names", ())),
                )  # fmt: skip
            )
    return out


#: Eager kinds measured at several row widths (``kind@width`` curves): the reference shape's key
#: that holds the width of the plain ``kind`` curve (rooflens.capture.calibrate_eager.WIDTHS).
WIDTH_KEYS = {"rms_norm": "h", "layer_norm": "h", "argmax": "vocab"}

#: The eager regimes a file may hold (rooflens.capture.calibrate_eager.REGIMES): warm back to
#: back and isolated (every file with an eager section), their cold and context twins (newer).
EAGER_REGIMES = (
    "back_to_back", "isolated", "cold", "cold_isolated", "context", "context_isolated"
)  # fmt: skip


def _eager(path: Path, doc: dict[str, Any]) -> dict[str, dict[str, Curve]]:
    section = doc.get("eager") or {}
    if not isinstance(section, dict):
        raise InputError(path, "calibration field eager has the wrong type")
    out: dict[str, dict[str, Curve]] = {}
    for regime in EAGER_REGIMES:
        for kind, c in (section.get(regime) or {}).items():
            if isinstance(c, dict):
                curve = _curve(path, f"eager.{regime}.{kind}", c.get("bytes"), c.get("time_s"))
                out.setdefault(regime, {})[kind] = curve
    return out


def _eager_reference(doc: dict[str, Any]) -> dict[str, float]:
    """The eager section's reference shape (numbers only; absent in files without one)."""
    ref = (doc.get("eager") or {}).get("reference") if isinstance(doc.get("eager"), dict) else None
    if not isinstance(ref, dict):
        return {}
    return {str(k): float(v) for k, v in ref.items()
            if isinstance(v, (int, float)) and not isinstance(v, bool) and v > 0}  # fmt: skip


def _host(path: Path, doc: dict[str, Any], section: str = "host") -> HostCosts:
    host = _need(path, doc, section, dict)
    eager = _need(path, host, "eager_call_s", dict, f"{section}.")
    for k in HOST_KEYS:
        v = _need(path, eager, k, (int, float), f"{section}.eager_call_s.")
        if not (math.isfinite(v) and v > 0):
            raise InputError(path, f"{section}.eager_call_s.{k} must be positive")
    g = float(_need(path, host, "graph_kernel_s", (int, float), f"{section}."))
    r = float(_need(path, host, "graph_replay_host_s", (int, float), f"{section}."))
    calls = {k: float(v) for k, v in eager.items()}
    ops = host.get("ops")
    if ops is None:
        return HostCosts(calls, g, r)
    where = f"{section}.ops."
    op_s = _need(path, ops, "op_s", dict, where)
    extras = [_need(path, ops, k, (int, float), where) for k in ("layer_extra_s", "step_extra_s")]
    values = [*op_s.values(), *extras]
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values) or not all(
        math.isfinite(v) and v >= 0 for v in values
    ):
        raise InputError(path, f"{section}.ops: host seconds must be finite and ≥ 0")
    op_times = {str(k): float(v) for k, v in op_s.items()}
    return HostCosts(calls, g, r, op_times, float(extras[0]), float(extras[1]),
                     _spread(path, ops, where), _probe_reference(path, ops, where))  # fmt: skip


def _positive(v: object) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and v > 0


def _probe_reference(path: Path, ops: dict[str, Any], where: str) -> float | None:
    """The host probe that goes with ``ops.layer_s``: ``layer_s`` over the median, across the
    calibration's processes, of each one's layer time per probe second; ``ops.probe_layer_s``
    where one process was measured; None before probes.

    The median of the ratios and not the chosen process's own probe: a process's host speed
    can switch between its probe and its layer benchmark seconds later (H200, 2026-12-02: layer
    time per probe second 0.91, 1.05 and 1.67 in the three processes of one calibration)."""
    probe, probes, layers = (ops.get(k) for k in
                             ("probe_layer_s", "process_probe_layer_s", "process_layer_s"))  # fmt: skip
    for v in [probe, *(probes or [])]:
        if v is not None and not _positive(v):
            raise InputError(path, f"{where}probe_layer_s values must be positive seconds")
    if isinstance(probes, list) and isinstance(layers, list) and len(probes) == len(layers) > 1:
        per_probe = statistics.median(lay / pr for lay, pr in zip(layers, probes, strict=True))
        return float(ops["layer_s"]) / per_probe
    return None if probe is None else float(probe)


def _spread(path: Path, ops: dict[str, Any], where: str) -> tuple[float, float] | None:
    """``ops.process_layer_s`` (one layer's host seconds per process) as (min, max) factors on
    ``ops.layer_s``, the process whose costs ``ops`` holds."""
    draws, own = ops.get("process_layer_s"), ops.get("layer_s")
    if draws is None:
        return None
    values = [*draws, own] if isinstance(draws, list) and draws else [None]
    if not all(_positive(v) for v in values):
        raise InputError(
            path, f"{where}process_layer_s and {where}layer_s must be positive seconds"
        )
    return min(draws) / own, max(draws) / own


def from_dict(doc: Any, path: Path) -> Calibration:
    """Validate a parsed calibration document; any problem is one :class:`InputError` line."""
    if not isinstance(doc, dict) or doc.get("schema") != SCHEMA_NAME:
        raise InputError(path, f'not a rooflens calibration file (no "schema": "{SCHEMA_NAME}")')
    if doc.get("version") != SCHEMA_VERSION:
        raise InputError(
            path,
            f"calibration schema version {doc.get('version')!r}; this rooflens reads {SCHEMA_VERSION}",
        )
    key = _need(path, doc, "key", dict)
    _need(path, key, "gpu_name", str, "key.")
    memory = _need(path, doc, "memory", dict)
    if "add" not in memory:
        raise InputError(path, "calibration lacks memory.add")
    curves = {
        k: _curve(path, f"memory.{k}", v.get("bytes"), v.get("time_s"))
        for k, v in memory.items()
        if isinstance(v, dict)
    }
    kernels = {
        k: int(max(v.get("kernels") or [1])) for k, v in memory.items() if isinstance(v, dict)
    }
    tmin = float(_need(path, doc, "min_kernel_s", (int, float)))
    if not (math.isfinite(tmin) and tmin > 0):
        raise InputError(path, "min_kernel_s must be positive")
    host, host_nsys = _host(path, doc), None
    if doc.get("host_nsys") is not None:
        host_nsys = _host(path, doc, "host_nsys")
        if host.spread is None:  # the per-process draws were taken under nsys only
            host = replace(host, spread=host_nsys.spread)
    return Calibration(
        key=key, gemm=_gemm(path, doc), memory=curves, memory_kernels=kernels,
        attention=_attention(path, doc), min_kernel_s=tmin, host=host,
        allreduce=doc.get("allreduce") or {}, source=str(path), method=doc.get("method") or {},
        eager=_eager(path, doc), eager_reference=_eager_reference(doc), host_nsys=host_nsys,
        allreduce_curve=_allreduce(path, doc.get("allreduce")),
    )  # fmt: skip


def _allreduce(path: Path, ar: Any) -> tuple[int, Curve] | None:
    """The measured all-reduce curve (``gpus``, ``bytes``, ``time_s``), None where skipped."""
    if not isinstance(ar, dict) or "time_s" not in ar:
        return None
    gpus = _need(path, ar, "gpus", int, "allreduce.")
    if gpus < 2:
        raise InputError(path, "allreduce.gpus must be at least 2")
    return gpus, _curve(path, "allreduce", ar.get("bytes"), ar.get("time_s"))


def load(path: str | Path) -> Calibration:
    """Read and validate a calibration file (one-line :class:`InputError` on any problem)."""
    p = Path(path)
    try:
        doc = json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(p, "no such calibration file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(
            p, f"cannot read the calibration file ({exc.__class__.__name__})"
        ) from None
    except json.JSONDecodeError as exc:
        raise InputError(p, f"not valid JSON (line {exc.lineno}: {exc.msg})") from None
    return from_dict(doc, p)


def save(doc: dict[str, Any], path: str | Path) -> None:
    """Write a calibration document (validated first, so a broken file is never written)."""
    p = Path(path)
    from_dict(doc, p)
    p.write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")


def bundled_paths() -> list[Path]:
    """The calibration files shipped with rooflens."""
    folder = resources.files("rooflens.hardware") / "calibrations"
    return sorted(Path(str(f)) for f in folder.iterdir() if f.name.endswith(".json"))


def bundled_for(gpu_key: str) -> Calibration | None:
    """The bundled calibration measured on the GPU of table key ``gpu_key``, or None."""
    from rooflens.hardware import lookup

    for p in bundled_paths():
        cal = load(p)
        try:
            if lookup(cal.gpu_name).key == gpu_key:
                return cal
        except RooflensError:
            continue
    return None


def choose(option: str | None, gpu_key: str) -> tuple[Calibration | None, str]:
    """The calibration for ``--calibration`` (a path, ``none``, or unset = bundled for the GPU)
    and a note saying which one is used or why none is."""
    if option is not None and option.strip().lower() == "none":
        return None, "--calibration none: attainable times are the ideal roofline"
    if option:
        given = load(option)
        return given, f"calibration: {given.label()}"
    cal = bundled_for(gpu_key)
    if cal is None:
        return (
            None,
            f"no calibration for {gpu_key}: attainable times fall back to the ideal roofline (run `rooflens calibrate`)",
        )
    return cal, f"calibration: {cal.label()}"
