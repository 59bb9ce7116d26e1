"""Calibration of memory-bound kernels and of eager PyTorch operators as the built-in workload
runs them.

Eager operators launch several small kernels on non-contiguous views (RoPE on a transposed
``[b, H, T, d]`` view, SiLU·mul on the two halves of one GEMM output, the KV-cache write into a
strided slice, argmax over a vocabulary row).  Their kernels run slower than the same kernels on
contiguous tensors, so they are timed as they are called, over the token count, at a reference
shape (Llama-3-8B: h 4096, 32 heads, 8 KV heads, d 128, MLP 14336, vocabulary 128256); a lookup
goes by bytes, the operator's ideal bytes, so other shapes read the same curves.

Four regimes (:data:`REGIMES`), all CUPTI kernel durations: *back to back* (launches queued,
the device never idles) and *isolated* (the host spins ``GAP_S`` between launches, as in a
launch-bound eager run: every kernel starts on an idle device, which costs it a few microseconds
more), each in two cache states:

- *warm*: the same operands call after call, all L2-resident;
- (*cold*, in files before 2026-12-02: L2 flushed (2 × L2 read) before every call: operands, and
  the kernel's code, come from DRAM;)
- *context*: L2 flushed, then the operator's **activation input rewritten** (a fill kernel, dropped
  from the times) before every call.  This is the state a decoder step leaves: the small operator
  reads what the kernel just before it wrote (the GEMM's output, the residual sum), while its
  constant operands (norm weights, cos/sin, the KV cache, the residual stream written one GEMM
  earlier) and its code were evicted by the weight-streaming GEMMs in between.  Predictions use
  this state (``Calibration.eager_time``); warm is the fast bracket.

RMSNorm and argmax are also measured at other row widths (:data:`WIDTHS`): their kernels work
row by row, so their time follows the width and not only the bytes.

Memory-bound kernels (:func:`bench_memory`): contiguous tensors over 4 KiB … 4 GiB, queued back
to back, no L2 flush (a decoder's small operators read what the previous one just wrote).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

REF = {"h": 4096, "heads": 32, "kv_heads": 8, "d": 128, "inter": 14336, "vocab": 128256}
TOKENS = (1, 4, 16, 64, 128, 256, 1024, 4096, 16384, 32768)
ARGMAX_ROWS = (1, 2, 4, 8, 16, 32, 64, 128, 256)
GAP_S = 30e-6


def _points(torch: Any, kind: str, t: int, width: int | None = None) -> tuple[Any, float, Any]:
    """(call, ideal bytes, producer) of one eager operator at ``t`` tokens (reference shape; a
    ``width`` replaces the row width of the kinds in :data:`WIDTHS`).

    The producer rewrites the activation input, as the kernel before the operator does in a
    decoder step (the *context* regime); None for the embedding (its token ids are a few bytes,
    its table is a weight)."""
    import torch.nn.functional as F

    dev, f16 = "cuda", torch.float16
    h, H, Hkv, d, inter = REF["h"], REF["heads"], REF["kv_heads"], REF["d"], REF["inter"]
    if kind in ("rms_norm", "layer_norm") and width:
        h = width
    if kind == "rope":  # one tensor (q) as the workload does it: x·cos + rotate_half(x)·sin
        x = torch.randn(1, t, H, d, device=dev, dtype=f16).transpose(1, 2)
        cos = torch.randn(t, d, device=dev, dtype=f16)
        sin = torch.randn(t, d, device=dev, dtype=f16)

        def rope() -> Any:
            half = d // 2
            rot = torch.cat((-x[..., half:], x[..., :half]), dim=-1)
            return x * cos + rot * sin

        return rope, 2.0 * t * H * d * 2, _fill(x)
    if kind == "act":
        gu = torch.randn(t, 2 * inter, device=dev, dtype=f16)

        def act() -> Any:
            gate, up = gu.chunk(2, dim=-1)
            return F.silu(gate) * up

        return act, 3.0 * t * inter * 2, _fill(gu)
    if kind == "gelu":  # a plain MLP's activation (GPT-2, OPT): one kernel over the up output
        up = torch.randn(t, inter, device=dev, dtype=f16)
        return (lambda: F.gelu(up, approximate="tanh")), 2.0 * t * inter * 2, _fill(up)
    if kind == "kv_write":  # one of K or V into a strided cache slice
        cache = torch.zeros(1, Hkv, t + 16, d, device=dev, dtype=f16)
        k = torch.randn(1, t, Hkv, d, device=dev, dtype=f16).transpose(1, 2)

        def kv_write() -> None:
            cache[:, :, 3 : 3 + t] = k

        return kv_write, 1.0 * t * Hkv * d * 2, _fill(k)
    if kind == "argmax":
        vocab = width or REF["vocab"]
        logits = torch.randn(t, vocab, device=dev, dtype=f16)

        def argmax() -> Any:
            return torch.argmax(logits, dim=-1, keepdim=True)

        return argmax, 2.0 * t * vocab, _fill(logits)
    x = torch.randn(1, t, h, device=dev, dtype=f16)
    if kind == "rms_norm":
        w = torch.ones(h, device=dev, dtype=f16)
        return (lambda: F.rms_norm(x, (h,), w, 1e-5)), 2.0 * t * h * 2, _fill(x)
    if kind == "layer_norm":  # OPT, GPT-2: mean and variance, weight and bias
        w, b = torch.ones(h, device=dev, dtype=f16), torch.zeros(h, device=dev, dtype=f16)
        return (lambda: F.layer_norm(x, (h,), w, b, 1e-5)), 2.0 * t * h * 2, _fill(x)
    if kind == "add":
        y = torch.randn(1, t, h, device=dev, dtype=f16)  # y: the GEMM output; x: the residual
        return (lambda: x + y), 3.0 * t * h * 2, _fill(y)
    if kind == "embedding":
        table = torch.randn(REF["vocab"], h, device=dev, dtype=f16)
        ids = torch.randint(0, REF["vocab"], (1, t), device=dev)
        return (lambda: F.embedding(ids, table)), 2.0 * t * h * 2, None
    raise ValueError(kind)


def _fill(x: Any) -> Any:
    """A producer: writes every element of ``x`` (``FillFunctor``, dropped by the timer)."""
    return lambda: x.fill_(0.5)


def _memory_ops(torch: Any, n: int) -> dict[str, tuple[Any, float]]:
    """name → (operation on n fp16 elements, minimum bytes it moves)."""
    import torch.nn.functional as F

    a = torch.randn(n, device="cuda", dtype=torch.float16)
    b = torch.randn(n, device="cuda", dtype=torch.float16)
    c = torch.empty_like(a)
    rows = max(1, n // 4096)
    x2 = a[: rows * 4096].view(rows, -1)
    wn = torch.ones(x2.shape[1], device="cuda", dtype=torch.float16)
    table = torch.randn(max(rows, 1024), 4096, device="cuda", dtype=torch.float16)
    ids = torch.randint(0, table.shape[0], (rows,), device="cuda")
    half = x2.shape[1] // 2
    c2 = c[: x2.numel()].view(x2.shape)
    e = 2.0 * n
    return {
        "copy": (lambda: c2[:, :half].copy_(x2[:, half:]), e),  # strided: a kernel, not a memcpy
        "add": (lambda: torch.add(a, b, out=c), 3 * e),
        "mul": (lambda: a * b, 3 * e),
        "silu": (lambda: F.silu(a), 2 * e),
        "neg": (lambda: -a, 2 * e),
        "cat": (lambda: torch.cat((x2[:, half:], x2[:, :half]), dim=-1), 2 * e),
        "rms_norm": (lambda: F.rms_norm(x2, (x2.shape[1],), wn, 1e-5), 2.0 * 2 * x2.numel()),
        "embedding": (lambda: F.embedding(ids, table), 2.0 * 2 * rows * 4096),
    }


def bench_memory(torch: Any, timer: Any) -> dict[str, dict[str, Any]]:
    """Memory-bound operators over transfer size (no L2 flush: see the module docstring)."""
    from rooflens.capture.calibrate import MEM_SIZES, _reps, log

    out: dict[str, dict[str, Any]] = {}
    for size in MEM_SIZES:
        n = size // 2
        opsd = _memory_ops(torch, n)
        names = list(opsd)
        res = timer.run([(opsd[k][0], _reps(opsd[k][1] / 3e12 + 3e-6)) for k in names], flush=False)
        for k, r in zip(names, res, strict=True):
            if r is None:
                continue
            e = out.setdefault(k, {"bytes": [], "time_s": [], "kernels": [], "kernel_names": []})
            e["bytes"].append(opsd[k][1])
            e["time_s"].append(r[0])
            e["kernels"].append(r[1])
            e["kernel_names"] = sorted(set(e["kernel_names"]) | set(r[2]))
        del opsd
        torch.cuda.empty_cache()
        log(f"memory ops at {size / 2**20:.3g} MiB per tensor")
    return out


KINDS = ("rope", "act", "gelu", "kv_write", "argmax", "rms_norm", "layer_norm", "add", "embedding")

#: Row widths measured besides the reference for the kinds whose kernels work row by row: the
#: time of a norm or an argmax follows its row width, not only its bytes (H200, Qwen3-0.6B's
#: hidden 1024: 2.4 µs per RMSNorm against 5.7 µs at 4096 for the same bytes; argmax over
#: 151,936 columns ~10 µs, over the reference 128,256 26 µs).  Curves are stored as
#: ``kind@width`` beside ``kind`` (the reference width); lookups take the nearest width
#: (:data:`rooflens.hardware.calibration.WIDTH_KEYS`).
WIDTHS = {"rms_norm": (128, 1024, 2048, 8192), "layer_norm": (1024,), "argmax": (32000, 151936)}

#: (name, host gap between launches in s, L2 flushed before each call, activation input
#: rewritten after the flush): the module docstring says why each exists.
#: ``cold`` (flushed, input not rewritten) was measured until 2026-12-02 as the other bracket;
#: predictions read it only from files without ``context``, so it is no longer measured (a
#: third of this section's time, which the calibration's three minutes needed).
REGIMES = (
    ("back_to_back", 0.0, False, False),
    ("isolated", GAP_S, False, False),
    ("context", 0.0, True, True),
    ("context_isolated", GAP_S, True, True),
)


def bench_eager(torch: Any, timer: Any, log: Any) -> dict[str, Any]:
    """Every regime for every kind over the token counts: ``{regime: {kind: curve}}``."""
    from rooflens.capture.calibrate import _reps

    grid: list[tuple[str, int | None, int]] = [
        (k, None, t) for k in KINDS for t in (ARGMAX_ROWS if k == "argmax" else TOKENS)
    ]
    grid += [(k, w, t) for k, ws in WIDTHS.items() for w in ws
             for t in (ARGMAX_ROWS if k == "argmax" else TOKENS) if w * t <= 2**28]  # fmt: skip
    out: dict[str, Any] = {"reference": REF, "gap_s": GAP_S}
    for regime, gap, flush, produce in REGIMES:
        sizes: list[float] = []

        def points(
            gap: float = gap, sizes: list[float] = sizes, produce: bool = produce
        ) -> Iterable[tuple[Any, int, Any]]:
            for kind, width, t in grid:
                fn, nbytes, producer = _points(torch, kind, t, width)
                sizes.append(nbytes)
                reps = min(_reps(nbytes / 3e12 + 3e-6), 20 if gap else 50)
                yield fn, reps, (producer if produce else None)

        res = timer.run(points(), flush=flush, gap_s=gap)
        curves: dict[str, dict[str, list[Any]]] = {}
        for (kind, width, _), nbytes, r in zip(grid, sizes, res, strict=True):
            if r is None:
                continue
            name = f"{kind}@{width}" if width else kind
            c = curves.setdefault(
                name, {"bytes": [], "time_s": [], "kernels": [], "kernel_names": []}
            )
            c["bytes"].append(nbytes)
            c["time_s"].append(r[0])
            c["kernels"].append(r[1])
            c["kernel_names"] = sorted(set(c["kernel_names"]) | set(r[2]))
        out[regime] = curves
        torch.cuda.empty_cache()
        log(f"eager operators, {regime.replace('_', ' ')}")
    return out
