"""GPU specifications from ``gpus.toml`` (data with a source for every number) and name lookup.

:func:`lookup` accepts a table key (``nvidia_H800_SXM5_80G``), a short name (``H100``) or the
name a tool printed for the device (nvidia-smi / nsys / torch / NCU: ``NVIDIA H100 80GB HBM3``),
case-, space- and punctuation-insensitively.  Everything is converted to SI on load: peaks in
FLOP/s, bandwidths in bytes/s, sizes in bytes.
"""

from __future__ import annotations

import difflib
import re
import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Any

from rooflens.errors import RooflensError
from rooflens.units import to_si

DTYPES = ("fp16", "bf16", "fp8", "int8", "tf32", "fp32")
_FIELDS = ("peak_tflops", "bandwidth_gbps", "memory_gb", "l2_mib", "sm_count", "interconnect_gbps")


@dataclass(frozen=True)
class GPU:
    """One GPU's roofline-relevant figures in SI units.

    ``peak_flops`` maps a dtype (``fp16``, ``bf16``, ``fp8``, ``int8``, ``tf32``: dense tensor
    core; ``fp32``: CUDA cores) to FLOP/s; a dtype the card lacks (FP8 on Ampere) is absent.
    ``bandwidth_bps`` is DRAM bandwidth, ``interconnect_bps`` GPU-to-GPU bandwidth per GPU.
    ``sources`` names where each number comes from.
    """

    key: str
    name: str
    peak_flops: dict[str, float]
    bandwidth_bps: float
    memory_bytes: float
    l2_bytes: float
    sm_count: int
    interconnect_bps: float
    aliases: tuple[str, ...] = ()
    sources: dict[str, str] = field(default_factory=dict)

    def peak(self, dtype: str) -> float:
        """Peak FLOP/s for ``dtype``; a :class:`RooflensError` when the card has no such units."""
        value = self.peak_flops.get(dtype)
        if not value:
            have = ", ".join(sorted(self.peak_flops))
            raise RooflensError(
                f"GPU {self.key} has no {dtype.upper()} peak in the table (has {have})"
            )
        return value

    def ridge_intensity(self, dtype: str) -> float:
        """FLOP per byte where the compute roof meets the memory roof for ``dtype``."""
        return self.peak(dtype) / self.bandwidth_bps


def normalize_name(name: str) -> str:
    """Lowercase alphanumerics only: ``"NVIDIA H100 80GB HBM3"`` → ``"nvidiah10080gbhbm3"``."""
    return re.sub(r"[^0-9a-z]", "", name.lower())


def _gpu_from_table(key: str, t: dict[str, Any]) -> GPU:
    missing = [f for f in (*_FIELDS, "name", "source") if f not in t]
    if missing:
        raise RooflensError(f"gpus.toml: entry {key} lacks {', '.join(missing)}")
    peaks = {d: to_si(v, "TFLOP/s") for d, v in t["peak_tflops"].items() if d in DTYPES}
    extra = t.get("sources", {})
    return GPU(
        key=key,
        name=t["name"],
        peak_flops=peaks,
        bandwidth_bps=to_si(t["bandwidth_gbps"], "GB/s"),
        memory_bytes=to_si(t["memory_gb"], "GB"),
        l2_bytes=to_si(t["l2_mib"], "MiB"),
        sm_count=int(t["sm_count"]),
        interconnect_bps=to_si(t["interconnect_gbps"], "GB/s"),
        aliases=tuple(t.get("aliases", ())),
        sources={f: str(extra.get(f, t["source"])) for f in _FIELDS},
    )


@lru_cache(maxsize=1)
def _table() -> dict[str, GPU]:
    text = (resources.files("rooflens.hardware") / "gpus.toml").read_text(encoding="utf-8")
    data = tomllib.loads(text)
    return {key: _gpu_from_table(key, t) for key, t in data.items()}


@lru_cache(maxsize=1)
def _index() -> dict[str, str]:
    index: dict[str, str] = {}
    for key, gpu in _table().items():
        for label in (key, gpu.name, *gpu.aliases):
            index.setdefault(normalize_name(label), key)
    return index


def all_gpus() -> list[GPU]:
    """Every GPU of the table, in file order."""
    return list(_table().values())


def lookup(name_or_alias: str) -> GPU:
    """The GPU for a key, short name or tool-reported device name.

    Tries the name as given, then without a leading ``NVIDIA``/``GeForce``.  Unknown names raise
    :class:`RooflensError` listing the closest known names.
    """
    norm = normalize_name(name_or_alias)
    index = _index()
    for candidate in (
        norm,
        re.sub(r"^(nvidia|amd)", "", norm),
        re.sub(r"^(nvidia)?(geforce)?", "", norm),
    ):
        if candidate in index:
            return _table()[index[candidate]]
    labels = {normalize_name(x): x for g in all_gpus() for x in (g.key, g.name, *g.aliases)}
    close = difflib.get_close_matches(norm, list(labels), n=3, cutoff=0.4)
    hint = ", ".join(dict.fromkeys(labels[c] for c in close)) or ", ".join(_table())
    raise RooflensError(f"unknown GPU '{name_or_alias}'; closest: {hint} (see `rooflens hardware`)")


__all__ = ["DTYPES", "GPU", "all_gpus", "lookup", "normalize_name"]
