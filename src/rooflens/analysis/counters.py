"""NCU counters for every kernel of a run, from a representative sample (docs/capture.md).

Nsight Compute profiles one launch per distinct kernel and step class (prefill and a few
decode steps, first and last layer: :mod:`rooflens.capture.sample`); nsys times every launch.
This module joins the profiled launches to the timeline by their NVTX path and carries their
counters to the launches ncu did not profile:

- **join** — an NCU kernel and a timeline kernel are the same launch when their NVTX paths
  (``Run[2] > decode[5] > Layer[0]#Run[2] > attention``, the ``ncu#Run[j]`` marker ignored) and
  their ordinal inside that path are equal (and the short names agree);
- **propagated** — a launch with the same *signature* (short kernel name, grid, block, step
  class prefill/decode) as a measured one takes its counters (bytes, FLOPs, SOL %, hit rates,
  occupancy), from the nearest measured layer and step; rates are recomputed with the launch's
  own nsys duration;
- **scaled** — in decode, where a kernel's work grows with the KV length (attention), DRAM
  bytes and FLOPs are interpolated linearly in the decode step between the two nearest
  measured steps of the same signature (the sample always holds the first and last step, so
  this never extrapolates); a launch whose grid changed with the KV length falls back to the
  signature without grid.

Every kernel row says which: ``counters`` is ``measured``, ``propagated`` or ``scaled``, and
``counters_from`` names the measured kernel's index.  Pure functions over plain data.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from rooflens.vocab import EXPERT_RE, NCU_SAMPLE_RE, canonical_phase, operator_class_of, step_of

#: Figures copied as they are from the measured launch (counters, not rates).
COPIED = (
    "sm_throughput_pct", "memory_throughput_pct", "dram_throughput_pct", "l1_hit_pct",
    "l2_hit_pct", "achieved_occupancy_pct", "theoretical_occupancy_pct",
    "registers_per_thread", "bound",
)  # fmt: skip

#: Relative spread of a signature's measured DRAM bytes or FLOPs across decode steps above which
#: its counters are treated as KV-length dependent and interpolated, even outside attention.
VARIES = 0.05


def instance_path(nvtx: Sequence[str]) -> tuple[str, ...]:
    """The NVTX path of a launch without the ``ncu#Run[j]`` sample marker."""
    return tuple(e for e in nvtx if not NCU_SAMPLE_RE.match(e))


def path_key(nvtx: Sequence[str]) -> tuple[str, ...]:
    """The join key of a launch's NVTX path: :func:`instance_path`, with a routed expert's index
    dropped (``expert[17]`` → ``expert``).  Which experts a decode token visits depends on the
    data, and ncu's pass of a sample does not run every step before it (its routing differs);
    the n-th sampled expert iteration of a layer and step does the same work either way."""
    return tuple("expert" if EXPERT_RE.match(e) else e for e in instance_path(nvtx))


def _ordinal_keys(paths: Sequence[tuple[str, ...]]) -> list[tuple[tuple[str, ...], int]]:
    """(path, n): the n-th launch inside each path, in order."""
    seen: dict[tuple[str, ...], int] = defaultdict(int)
    out = []
    for p in paths:
        out.append((p, seen[p]))
        seen[p] += 1
    return out


def join_by_path(
    ncu_paths: Sequence[Sequence[str]],
    ncu_names: Sequence[set[str]],
    tl_paths: Sequence[Sequence[str]],
    tl_names: Sequence[str],
) -> list[int | None] | None:
    """Timeline index of each NCU launch by NVTX path + ordinal, or None when paths do not apply.

    Paths apply when every NCU launch has one and at least half of them find a timeline launch of
    the same path, ordinal and short name (the capture-time NVTX of the same program).  The
    ordinal is counted among the *profiled* launches of a path, so a sample must hold whole
    ranges (it does: the marker wraps whole layers and operators).
    """
    if not ncu_paths or any(not p for p in ncu_paths):
        return None
    index = {key: i for i, key in enumerate(_ordinal_keys([path_key(p) for p in tl_paths]))}
    out: list[int | None] = []
    for key, names in zip(_ordinal_keys([path_key(p) for p in ncu_paths]), ncu_names, strict=True):
        i = index.get(key)
        out.append(i if i is not None and tl_names[i] in names else None)
    hits = sum(1 for i in out if i is not None)
    return out if hits * 2 >= len(out) else None


_INDEX = re.compile(r"\[\d+\]")


def roles(timeline_kernels: Sequence[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """Each launch's role in its step: its NVTX path with run, step and layer numbers removed
    (``Run > decode > Layer#Run > rope``) and its ordinal inside that path instance.

    Launches of one kernel name often play several roles in a layer (torch's elementwise kernel
    multiplies in RoPE and copies into the KV cache); the role tells them apart, so counters pass
    only between launches that do the same work.
    """
    seen: dict[tuple[str, ...], int] = defaultdict(int)
    out = []
    for k in timeline_kernels:
        path = instance_path(k.get("nvtx") or ())
        n = seen[path]
        seen[path] += 1
        out.append((tuple(_INDEX.sub("", e) for e in path), n))
    return out


def _signature(k: dict[str, Any], role: tuple[Any, ...], with_grid: bool = True) -> tuple[Any, ...]:
    """What makes two launches identical: role, short name, grid (optional), block, step class."""
    cls = canonical_phase(k.get("phase"))
    grid = tuple(k.get("grid") or ()) if with_grid else None
    return (role, k["short_name"], grid, tuple(k.get("block") or ()), cls)


def _varies(points: list[dict[str, Any]]) -> bool:
    """Whether the measured DRAM bytes or FLOPs of one signature differ between decode steps."""
    for key in ("dram_bytes", "flops"):
        vals = [p[key] for p in points if p.get(key) is not None]
        if len(vals) > 1 and max(vals) > 0 and (max(vals) - min(vals)) / max(vals) > VARIES:
            return True
    return False


def _interpolate(points: list[dict[str, Any]], step: int, key: str) -> float | None:
    """``key`` at decode ``step``, linear between the nearest measured steps below and above."""
    pts = sorted((p["_step"], p[key]) for p in points if p.get(key) is not None)
    if not pts:
        return None
    below = [p for p in pts if p[0] <= step]
    above = [p for p in pts if p[0] >= step]
    lo = below[-1] if below else pts[0]
    hi = above[0] if above else pts[-1]
    if hi[0] == lo[0]:
        return float(lo[1])
    t = (step - lo[0]) / (hi[0] - lo[0])
    return max(0.0, float(lo[1] + t * (hi[1] - lo[1])))


def _nearest(points: list[dict[str, Any]], step: int, layer: int | None) -> dict[str, Any]:
    """The measured launch closest in step, then in layer."""
    return min(
        points, key=lambda p: (abs(p["_step"] - step), abs((p.get("layer") or 0) - (layer or 0)))
    )


def _div(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def propagate(
    measured: list[dict[str, Any]],
    timeline_kernels: list[dict[str, Any]],
    roof_fraction: Any,
) -> list[dict[str, Any]]:
    """Counter rows for the timeline launches ncu did not profile (module docstring).

    ``measured``: the measured kernel rows (``kernels[]`` entries with ``timeline_index``);
    ``timeline_kernels``: the chosen run's launches (``index``, ``short_name``, ``grid``, ``block``,
    ``phase``, ``layer``, ``operator``, ``duration_s``, ``name``, ``nvtx``);
    ``roof_fraction(flops, bytes, duration_s)`` recomputes the distance to the roofline.
    Returns new rows (``counters`` = ``propagated`` or ``scaled``), in timeline order.
    """
    by_tl = {m["timeline_index"]: m for m in measured if m.get("timeline_index") is not None}
    role = roles(timeline_kernels)
    exact: dict[tuple[Any, ...], list[dict[str, Any]]] = defaultdict(list)
    loose: dict[tuple[Any, ...], list[dict[str, Any]]] = defaultdict(list)
    for i, m in by_tl.items():
        tk = timeline_kernels[i]
        point = {**m, "_step": step_of(tk.get("phase")), "layer": tk.get("layer")}
        exact[_signature(tk, role[i])].append(point)
        loose[_signature(tk, role[i], with_grid=False)].append(point)
    out: list[dict[str, Any]] = []
    next_index = 1 + max((m["index"] for m in measured), default=-1)
    for i, tk in enumerate(timeline_kernels):
        if i in by_tl:
            continue
        points = exact.get(_signature(tk, role[i])) or loose.get(
            _signature(tk, role[i], with_grid=False)
        )
        if not points:
            continue
        row = _carry(tk, i, points, roof_fraction)
        row["index"] = next_index
        next_index += 1
        out.append(row)
    return out


def _carry(
    tk: dict[str, Any], i: int, points: list[dict[str, Any]], roof_fraction: Any
) -> dict[str, Any]:
    """One propagated or scaled row for timeline launch ``tk`` (index ``i``) from ``points``."""
    step, layer = step_of(tk.get("phase")), tk.get("layer")
    src = _nearest(points, step, layer)
    decode = canonical_phase(tk.get("phase")) == "decode"
    kv_dependent = decode and (
        operator_class_of(tk.get("operator")) == "attention" or _varies(points)
    )
    steps = {p["_step"] for p in points}
    if kv_dependent and step not in steps and len(steps) > 1:
        nbytes, flops = (
            _interpolate(points, step, "dram_bytes"),
            _interpolate(points, step, "flops"),
        )
        how = "scaled"
    else:
        nbytes, flops, how = src.get("dram_bytes"), src.get("flops"), "propagated"
    dur = float(tk.get("duration_s") or 0.0)
    row = {key: src.get(key) for key in COPIED}
    row.update(
        name=tk.get("name") or src.get("name"), short_name=tk["short_name"], duration_s=dur,
        ncu_duration_s=None, timeline_index=i, dram_bytes=nbytes, flops=flops,
        dram_bandwidth_bps=_div(nbytes, dur), achieved_flops_per_s=_div(flops, dur),
        intensity=_div(flops, nbytes), roof_fraction=roof_fraction(flops, nbytes, dur),
        operator=tk.get("operator") or src.get("operator"), nvtx=list(tk.get("nvtx") or []),
        findings=[], counters=how, counters_from=src["index"],
    )  # fmt: skip
    return row
