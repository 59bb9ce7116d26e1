"""Will the built-in workload fit on the GPU?  Checked before a capture starts, not after an OOM.

A whole-model capture of a large model can need more memory than the card has; finding out
after nsys started, minutes later, from a CUDA out-of-memory traceback is a poor answer.  The
workload holds the model's weights (``--layers`` layers + embedding + LM head), a KV cache for
``input_len + output_len`` positions, and activations (the largest: the prefill's MLP
intermediate and the logits).  nvidia-smi says how much memory the first visible GPU has free.
"""

from __future__ import annotations

import os
import shutil
import subprocess

from rooflens.errors import RooflensError
from rooflens.model.architecture import Architecture
from rooflens.units import fmt_bytes

#: CUDA context, cuBLAS/cuDNN workspaces and the caching allocator's slack (measured: a 1-layer
#: Llama-3-8B workload held ~1.6 GB beyond its tensors on the H200; rounded up).
OVERHEAD_BYTES = 3 * 2**30


def workload_bytes(arch: Architecture, *, batch: int, input_len: int, output_len: int,
                   layers: int, dtype_bytes: int = 2, tp: int = 1) -> float:  # fmt: skip
    """Bytes the built-in workload allocates on one GPU, from the model's shape (an upper estimate;
    per rank under tensor parallelism)."""
    from rooflens.hardware import lookup
    from rooflens.predict import Precision, Workload, predict

    precision = Precision.parse("W16A16KV16" if dtype_bytes == 2 else "W32A32KV32")
    pred = predict(
        arch,
        lookup("H100"),
        Workload(batch, input_len, output_len, precision, layers=layers, tp=tp),
    )
    tokens = batch * input_len
    inter = max(arch.intermediate_size, getattr(arch, "moe_intermediate_size", 0) or 0)
    activations = (
        dtype_bytes * tokens * (4 * arch.hidden_size + 3 * inter) + 4 * batch * arch.vocab_size
    )
    return pred.weight_bytes + pred.kv_cache_bytes + activations + OVERHEAD_BYTES


def gpu_free_bytes() -> float | None:
    """Free memory of the first visible GPU (nvidia-smi), or None when it cannot be asked."""
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return None
    cmd = [smi, "--query-gpu=index,memory.free", "--format=csv,noheader,nounits"]
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.SubprocessError):
        return None
    rows = {}
    for line in out.stdout.splitlines():
        parts = [p.strip() for p in line.split(",")]
        if len(parts) == 2 and parts[0].isdigit() and parts[1].replace(".", "", 1).isdigit():
            rows[parts[0]] = float(parts[1]) * 2**20  # MiB
    visible = os.environ.get("CUDA_VISIBLE_DEVICES", "").split(",")[0].strip()
    if visible in rows:
        return rows[visible]
    return next(iter(rows.values()), None)


def check_fits(
    arch: Architecture, *, batch: int, input_len: int, output_len: int, layers: int, tp: int = 1
) -> None:
    """Raise one line when the workload will not fit in the GPU's free memory."""
    free = gpu_free_bytes()
    if free is None:
        return
    need = workload_bytes(
        arch, batch=batch, input_len=input_len, output_len=output_len, layers=layers, tp=tp
    )
    if need > free:
        raise RooflensError(
            f"{arch.name} with {layers} layer(s), batch {batch}, {input_len}+{output_len} tokens needs"
            f" about {fmt_bytes(need)} of GPU memory (weights, KV cache, activations) but the GPU has"
            f" {fmt_bytes(free)} free: use fewer --layers, a smaller --batch or shorter lengths"
        )
