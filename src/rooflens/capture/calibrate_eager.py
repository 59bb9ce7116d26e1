"""Calibration of eager PyTorch operators as the built-in workload runs them, and host costs
under Nsight Systems.

Eager operators launch several small kernels on non-contiguous views (RoPE on a transposed
``[b, H, T, d]`` view, SiLU·mul on the two halves of one GEMM output, the KV-cache write into a
strided slice, argmax over a vocabulary row).  Their kernels run slower than the same kernels on
contiguous tensors, so they are timed as they are called, over the token count, at a reference
shape (Llama-3-8B: h 4096, 32 heads, 8 KV heads, d 128, MLP 14336, vocabulary 128256); a lookup
goes by bytes, the operator's ideal bytes, so other shapes read the same curves.

Two regimes, both CUPTI kernel durations: *back to back* (launches queued, the device never
idles) and *isolated* (the host spins ``GAP_S`` between launches, as in a launch-bound eager run:
every kernel starts on an idle device, which costs it a few microseconds more).

Host costs under nsys: the host benchmark re-runs in a child process under ``nsys profile`` with
the capture's flags (CUPTI callbacks make each launch dearer); the timeline is thrown away.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

REF = {"h": 4096, "heads": 32, "kv_heads": 8, "d": 128, "inter": 14336, "vocab": 128256}
TOKENS = (1, 4, 16, 64, 128, 256, 1024, 4096, 16384, 32768)
ARGMAX_ROWS = (1, 2, 4, 8, 16, 32, 64, 128, 256)
GAP_S = 30e-6


def _points(torch: Any, kind: str, t: int) -> tuple[Any, float]:
    """(call, ideal bytes) of one eager operator at ``t`` tokens (reference shape)."""
    import torch.nn.functional as F

    dev, f16 = "cuda", torch.float16
    h, H, Hkv, d, inter = REF["h"], REF["heads"], REF["kv_heads"], REF["d"], REF["inter"]
    if kind == "rope":  # one tensor (q) as the workload does it: x·cos + rotate_half(x)·sin
        x = torch.randn(1, t, H, d, device=dev, dtype=f16).transpose(1, 2)
        cos = torch.randn(t, d, device=dev, dtype=f16)
        sin = torch.randn(t, d, device=dev, dtype=f16)

        def rope() -> Any:
            half = d // 2
            rot = torch.cat((-x[..., half:], x[..., :half]), dim=-1)
            return x * cos + rot * sin

        return rope, 2.0 * t * H * d * 2
    if kind == "act":
        gu = torch.randn(t, 2 * inter, device=dev, dtype=f16)

        def act() -> Any:
            gate, up = gu.chunk(2, dim=-1)
            return F.silu(gate) * up

        return act, 3.0 * t * inter * 2
    if kind == "kv_write":  # one of K or V into a strided cache slice
        cache = torch.zeros(1, Hkv, t + 16, d, device=dev, dtype=f16)
        k = torch.randn(1, t, Hkv, d, device=dev, dtype=f16).transpose(1, 2)

        def kv_write() -> None:
            cache[:, :, 3 : 3 + t] = k

        return kv_write, 1.0 * t * Hkv * d * 2
    if kind == "argmax":
        logits = torch.randn(t, REF["vocab"], device=dev, dtype=f16)
        return (lambda: torch.argmax(logits, dim=-1, keepdim=True)), 2.0 * t * REF["vocab"]
    x = torch.randn(1, t, h, device=dev, dtype=f16)
    if kind == "rms_norm":
        w = torch.ones(h, device=dev, dtype=f16)
        return (lambda: F.rms_norm(x, (h,), w, 1e-5)), 2.0 * t * h * 2
    if kind == "add":
        y = torch.randn(1, t, h, device=dev, dtype=f16)
        return (lambda: x + y), 3.0 * t * h * 2
    if kind == "embedding":
        table = torch.randn(REF["vocab"], h, device=dev, dtype=f16)
        ids = torch.randint(0, REF["vocab"], (1, t), device=dev)
        return (lambda: F.embedding(ids, table)), 2.0 * t * h * 2
    raise ValueError(kind)


KINDS = ("rope", "act", "kv_write", "argmax", "rms_norm", "add", "embedding")


def bench_eager(torch: Any, timer: Any, log: Any) -> dict[str, Any]:
    """Both regimes for every kind over the token counts: ``{regime: {kind: curve}}``."""
    from rooflens.capture.calibrate import _reps

    grid = [(k, t) for k in KINDS for t in (ARGMAX_ROWS if k == "argmax" else TOKENS)]
    out: dict[str, Any] = {"reference": REF, "gap_s": GAP_S}
    for regime, gap in (("back_to_back", 0.0), ("isolated", GAP_S)):
        sizes: list[float] = []

        def points(gap: float = gap, sizes: list[float] = sizes) -> Iterable[tuple[Any, int]]:
            for kind, t in grid:
                fn, nbytes = _points(torch, kind, t)
                sizes.append(nbytes)
                yield fn, min(_reps(nbytes / 3e12 + 3e-6), 20 if gap else 50)

        res = timer.run(points(), flush=False, gap_s=gap)
        curves: dict[str, dict[str, list[Any]]] = {}
        for (kind, _), nbytes, r in zip(grid, sizes, res, strict=True):
            if r is None:
                continue
            c = curves.setdefault(
                kind, {"bytes": [], "time_s": [], "kernels": [], "kernel_names": []}
            )
            c["bytes"].append(nbytes)
            c["time_s"].append(r[0])
            c["kernels"].append(r[1])
            c["kernel_names"] = sorted(set(c["kernel_names"]) | set(r[2]))
        out[regime] = curves
        torch.cuda.empty_cache()
        log(f"eager operators, {regime.replace('_', ' ')}")
    return out


def host_under_nsys(log: Any) -> dict[str, Any] | None:
    """The host benchmark in a child process under ``nsys profile`` (capture flags), or None
    (with a log line) when nsys is missing or the child fails."""
    from rooflens.capture.nsys import profile_command
    from rooflens.capture.tools import find_tool, tool_env

    nsys = find_tool("nsys", required=False)
    if nsys is None:
        log("nsys not found: host costs under nsys not measured")
        return None
    with tempfile.TemporaryDirectory(prefix="rooflens-calib-") as tmp:
        out = Path(tmp) / "host.json"
        prog = [sys.executable, "-m", "rooflens.capture.calibrate", "--host-only", str(out)]
        argv = profile_command(nsys, Path(tmp) / "host", prog)
        env = {**os.environ, **tool_env(nsys)}
        try:
            subprocess.run(argv, env=env, capture_output=True, timeout=300, check=True)
            doc = json.loads(out.read_text(encoding="utf-8"))
        except (OSError, subprocess.SubprocessError, ValueError) as exc:
            log(f"host costs under nsys failed: {exc.__class__.__name__}")
            return None
    log(f"host under nsys: {doc['eager_call_s']['add'] * 1e6:.2f} us per eager add")
    return dict(doc)
