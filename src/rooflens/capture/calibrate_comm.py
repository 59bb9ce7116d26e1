"""All-reduce for ``rooflens calibrate``: time and bus bandwidth over message size when more
than one GPU is visible.

One process per GPU (``torch.multiprocessing.spawn``), joined by NCCL over a local TCP
rendezvous; each times ``dist.all_reduce`` of a bf16 tensor (the tensor-parallel layer's
activations) with CUDA events, median of the repetitions after warm-up, and the slowest rank's
time counts (an all-reduce ends when the last rank has its result).  Bus bandwidth as
nccl-tests defines it: message bytes / time × 2(N−1)/N — the bytes each GPU's link carries in
a ring, so it compares with the link's bandwidth whatever N is.

``backend="gloo"`` runs the same code on CPU tensors (tests: the logic without GPUs).
"""

from __future__ import annotations

import json
import socket
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from rooflens.predict.ops import ring_factor

#: Message bytes per all-reduce: 4 KiB … 1 GiB, ×4 (a decode step's activations are KiBs, a
#: long prefill's hundreds of MiB).
SIZES = tuple(1 << e for e in range(12, 31, 2))
#: Device seconds of repetitions per size (at least 5, at most 50 repetitions).
REP_BUDGET_S = 0.02


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _worker(
    rank: int, world: int, port: int, sizes: tuple[int, ...], out: str, backend: str
) -> None:
    import torch
    import torch.distributed as dist

    gpu = backend == "nccl"
    if gpu:
        torch.cuda.set_device(rank)
    dev = torch.device("cuda", rank) if gpu else torch.device("cpu")
    dtype = torch.bfloat16 if gpu else torch.float32
    dist.init_process_group(backend, init_method=f"tcp://127.0.0.1:{port}", rank=rank,
                            world_size=world)  # fmt: skip
    times: list[float] = []
    for size in sizes:
        x = torch.ones(max(1, size // (2 if gpu else 4)), dtype=dtype, device=dev)
        for _ in range(3):
            dist.all_reduce(x)
        # every rank must call the collective as often: the repetitions follow the slowest probe
        probe = _slowest(torch, dist, _time_one(torch, dist, x, gpu), dev)
        reps = max(5, min(50, int(REP_BUDGET_S / max(probe, 1e-9))))
        t = statistics.median(_time_one(torch, dist, x, gpu) for _ in range(reps))
        times.append(_slowest(torch, dist, t, dev))
        del x
    if rank == 0:
        bus = [s / t * ring_factor(world) for s, t in zip(sizes, times, strict=True)]
        doc = {"gpus": world, "dtype": "bf16" if gpu else "fp32", "backend": backend,
               "bytes": list(sizes), "time_s": times, "bus_bandwidth_bps": bus}  # fmt: skip
        Path(out).write_text(json.dumps(doc), encoding="utf-8")
    dist.barrier()
    dist.destroy_process_group()


def _slowest(torch: Any, dist: Any, t: float, dev: Any) -> float:
    """The largest ``t`` over the ranks (an all-reduce ends when the last rank has its result)."""
    x = torch.tensor([t], dtype=torch.float64, device=dev)
    dist.all_reduce(x, op=dist.ReduceOp.MAX)
    return float(x.item())


def _time_one(torch: Any, dist: Any, x: Any, gpu: bool) -> float:
    """Seconds of one all-reduce on this rank: CUDA events on a GPU, the wall clock on a CPU."""
    if gpu:
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        dist.all_reduce(x)
        end.record()
        end.synchronize()
        return float(start.elapsed_time(end)) * 1e-3
    t0 = time.perf_counter()
    dist.all_reduce(x)
    return time.perf_counter() - t0


def bench_allreduce(
    torch: Any, log: Any, gpus: int | None = None, sizes: tuple[int, ...] = SIZES,
    backend: str = "nccl",
) -> dict[str, Any]:  # fmt: skip
    """All-reduce time and bus bandwidth over ``sizes`` on ``gpus`` GPUs (default: every visible
    one), or ``{"skipped": why}`` with fewer than two or when the processes fail."""
    n = gpus if gpus is not None else torch.cuda.device_count()
    if n < 2:
        return {"skipped": f"{n} GPU visible: all-reduce bus bandwidth needs at least 2"}
    import torch.multiprocessing as mp

    with tempfile.TemporaryDirectory(prefix="rooflens-allreduce-") as tmp:
        out = Path(tmp) / "allreduce.json"
        try:
            mp.spawn(_worker, args=(n, _free_port(), tuple(sizes), str(out), backend), nprocs=n,
                     join=True)  # fmt: skip
            doc = json.loads(out.read_text(encoding="utf-8"))
        except Exception as exc:  # noqa: BLE001 - a failed rank must not lose the calibration
            log(f"all-reduce on {n} GPUs failed: {exc.__class__.__name__}: {exc}".splitlines()[0])
            return {"skipped": f"all-reduce on {n} GPUs failed ({exc.__class__.__name__})"}
    peak = max(doc["bus_bandwidth_bps"])
    log(f"all-reduce on {n} GPUs: bus bandwidth up to {peak / 1e9:.0f} GB/s")
    return dict(doc)
