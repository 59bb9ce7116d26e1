"""Host costs for ``rooflens calibrate``: seconds of CPU per eager PyTorch call, per operator of
the built-in workload and per CUDA-graph replay, without a profiler and under Nsight Systems.

Wall-clock loops on tiny tensors (the GPU is never the bottleneck), the median of ten batches.
Per operator (:func:`bench_host_ops`): the workload's own decoder at a small shape, each NVTX
range timed on the host — composing calls measured on tiny contiguous tensors came out 1.3–3.9×
short of the eager captures' host time (docs/calibration.md), because the workload's calls work
on 3-D and 4-D views and pay for views, splits and Python between them.  Under nsys the
same benchmark re-runs in a child process (``python -m rooflens.capture.calibrate --host-only``)
under ``nsys profile`` with the capture's flags: CUPTI callbacks make each traced call dearer,
and the captures a prediction is compared with were taken that way.  The timeline is discarded.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

Fn = Callable[[], object]


def _host_loop(torch: Any, fn: Fn, n: int = 2000, batches: int = 10) -> float:
    """Wall seconds per call of ``fn``: the median over ``batches`` batches of the mean of
    ``n / batches`` calls (no synchronisation inside a batch).  The median, because one
    descheduling of the process inflates a single long mean."""
    for _ in range(50):
        fn()
    per = max(1, n // batches)
    means = []
    for _ in range(batches):
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        for _ in range(per):
            fn()
        means.append((time.perf_counter() - t0) / per)
    torch.cuda.synchronize()
    return statistics.median(means)


def bench_host(torch: Any) -> dict[str, Any]:
    """Host seconds per eager call (tiny tensors: the GPU is never the bottleneck), per NVTX
    range, per CUDA-graph replay, and device seconds per kernel inside a replay."""
    import torch.nn.functional as F

    a = torch.randn(64, 64, device="cuda", dtype=torch.float16)
    b = torch.randn(64, 64, device="cuda", dtype=torch.float16)
    w = torch.ones(64, device="cuda", dtype=torch.float16)
    q = torch.randn(1, 8, 16, 64, device="cuda", dtype=torch.float16)
    kv = torch.randn(1, 2, 16, 64, device="cuda", dtype=torch.float16)
    ids = torch.zeros(4, dtype=torch.long, device="cuda")
    cache = torch.zeros(1, 2, 64, 64, device="cuda", dtype=torch.float16)

    def nvtx() -> None:
        torch.cuda.nvtx.range_push("x")
        torch.cuda.nvtx.range_pop()

    def sdpa() -> Any:
        return F.scaled_dot_product_attention(q, kv, kv, is_causal=True, enable_gqa=True)

    def slice_copy() -> None:
        cache[:, :, 3:19] = kv

    from rooflens.capture.workload import Marker

    mark = Marker(torch_ranges=False)

    def marker() -> None:
        with mark("x"):
            pass

    eager = {
        "marker": _host_loop(torch, marker),
        "add": _host_loop(torch, lambda: a + b),
        "mm": _host_loop(torch, lambda: a @ b.t()),
        "rms_norm": _host_loop(torch, lambda: F.rms_norm(a, (64,), w, 1e-5)),
        "sdpa": _host_loop(torch, sdpa, 500),
        "embedding": _host_loop(torch, lambda: F.embedding(ids, a)),
        "slice_copy": _host_loop(torch, slice_copy),
        "view": _host_loop(torch, lambda: a.view(-1)),
        "nvtx_range": _host_loop(torch, nvtx),
    }
    return {"eager_call_s": eager, **_bench_graph(torch, a, b), "ops": bench_host_ops(torch)}


def bench_host_process(torch: Any, ops_only: bool = False) -> dict[str, Any]:
    """One host process's benchmark: :func:`host_probe` first (as the workload runs it, early in
    its process), then :func:`bench_host` (or its per-operator part), the probe stored as
    ``ops.probe_layer_s`` beside the ``ops.layer_s`` it scales."""
    probe = host_probe(torch)
    doc = {"ops": bench_host_ops(torch)} if ops_only else bench_host(torch)
    doc["ops"]["probe_layer_s"] = probe
    return doc


#: The decoder whose operators :func:`bench_host_ops` times: small (host costs barely depend on
#: sizes, and the device must stay ahead of the host), Llama-style with GQA and head size 128.
HOST_SHAPE = {
    "hidden_size": 1024, "intermediate_size": 2816, "num_layers": 2, "num_heads": 8,
    "num_kv_heads": 2, "head_dim": 128, "vocab_size": 32000, "name": "host-benchmark",
}  # fmt: skip
HOST_PROMPT = 16


def bench_host_ops(
    torch: Any, steps: int = 32, device: str = "cuda", nvtx: bool = True
) -> dict[str, Any]:
    """Host seconds per operator of the built-in workload, per layer beyond its operators, and
    per decode step beyond its layers and per-model operators (medians over ``steps`` decode
    steps).  Operator names are the predictor's.

    Two passes over the same prefill and decode steps, the second one timed — as a capture
    analyses its second run: each decode step attends a new KV length, and the first call at a
    shape pays for one-time work (attention backends build a plan per shape: on the H200 a
    single pass measured 26 ms per attention call, 2026-12-02).  ``nvtx`` False: no NVTX
    ranges (:func:`host_probe`), the host timing of each range stays."""
    from rooflens.capture.shape import DecoderShape
    from rooflens.capture.workload import Decoder, Marker
    from rooflens.vocab import LAYER_RUN_RE, canonical_operator

    shape = DecoderShape(**HOST_SHAPE)  # type: ignore[arg-type]
    layers = shape.num_layers
    model = Decoder(shape, layers, 1, HOST_PROMPT + steps + 1, torch.float16, device=device)
    mark = Marker(torch_ranges=False, nvtx=nvtx and device == "cuda")
    ids = torch.zeros(1, 1, dtype=torch.long, device=device)
    prompt = torch.randint(0, shape.vocab_size, (1, HOST_PROMPT), device=device)
    step_s: list[float] = []
    with torch.inference_mode():
        for timed in (False, True):
            model.step(prompt, 0, 0, mark, ids)
            _sync(torch, device)
            mark.host_s = {} if timed else None
            for k in range(steps):
                t0 = time.perf_counter()
                model.step(ids, HOST_PROMPT + k, 0, mark, ids)
                step_s.append(time.perf_counter() - t0)
            _sync(torch, device)
    step_s = step_s[steps:]
    ranges = mark.host_s or {}
    layer_names = [n for n in ranges if LAYER_RUN_RE.match(n)]
    layer_s = statistics.median([t for n in layer_names for t in ranges[n]])
    op_s = {canonical_operator(n): statistics.median(v) for n, v in ranges.items()
            if n not in layer_names}  # fmt: skip
    in_layer = {canonical_operator(n) for n, v in ranges.items()
                if n not in layer_names and len(v) == layers * steps}  # fmt: skip
    per_model = sum(t for n, t in op_s.items() if n not in in_layer)
    return {
        "op_s": op_s,
        "layer_s": layer_s,
        "layer_extra_s": max(0.0, layer_s - sum(op_s[n] for n in in_layer)),
        "step_extra_s": max(0.0, statistics.median(step_s) - layers * layer_s - per_model),
        "reference": {**HOST_SHAPE, "steps": steps, "batch": 1, "prompt": HOST_PROMPT},
    }


#: Decode steps of :func:`host_probe`: two passes of a prompt and these steps on the 2-layer
#: decoder of :data:`HOST_SHAPE`, the second timed (16 layer samples).
PROBE_STEPS = 8


def host_probe(torch: Any, device: str = "cuda") -> float:
    """Host seconds per decoder layer of :data:`HOST_SHAPE`'s decoder, without NVTX ranges —
    the host's speed in *this* process.

    The host's speed is a draw (:data:`HOST_PROCESSES`), and on the H200 machine (a KVM guest)
    it also switches between about 0.6× and 1× within a process.  So the built-in workload runs
    this just before each run and ``rooflens calibrate`` in each of its host processes; the ratio
    of the two scales the calibrated host costs to the run (rooflens.predict.attainable
    .run_timeline).  A microbenchmark, not the run's timings: the prediction stays a
    prediction.  No NVTX, so nothing of it joins the capture's ranges (its ~600 small kernels
    run between the ``Run[j]`` ranges).
    """
    return float(bench_host_ops(torch, PROBE_STEPS, device, nvtx=False)["layer_s"])


def _sync(torch: Any, device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


def _bench_graph(torch: Any, a: Any, b: Any, n: int = 200) -> dict[str, float]:
    c = torch.empty_like(a)
    s = torch.cuda.Stream()
    s.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(s):
        torch.add(a, b, out=c)
    torch.cuda.current_stream().wait_stream(s)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        for _ in range(n):
            torch.add(c, b, out=c)
    graph.replay()
    torch.cuda.synchronize()
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    times = []
    for _ in range(20):
        start.record()
        graph.replay()
        end.record()
        end.synchronize()
        times.append(start.elapsed_time(end) * 1e-3 / n)
    host = _host_loop(torch, graph.replay, 50)
    return {
        "graph_kernel_s": statistics.median(times),
        "graph_replay_host_s": host,
        "graph_kernels": n,
    }


#: Fresh processes that time the workload's operators under nsys (:func:`host_under_nsys`).
#: A process's host speed is a draw: on the H200 machine (a KVM guest) 18 fresh processes spent
#: 401–849 µs per decoder layer on the same operators, and pinning a core, a fixed hash seed or
#: no ASLR did not steady it (benchmarks/gpu_host_spread.py, 2026-12-02).  Three draws give the
#: median the prediction uses and a range it reports.
HOST_PROCESSES = 3


def host_under_nsys(log: Any, processes: int = HOST_PROCESSES) -> dict[str, Any] | None:
    """The host benchmark in child processes under ``nsys profile`` (capture flags), or None
    (with a log line) when nsys is missing or the first child fails.  The first child runs the
    whole benchmark, the others the per-operator part; ``ops`` is the child with the median
    layer time, and ``ops.process_layer_s`` every child's layer time."""
    from rooflens.capture.nsys import profile_command
    from rooflens.tools import find_tool, tool_env

    nsys = find_tool("nsys", required=False)
    if nsys is None:
        log("nsys not found: host costs under nsys not measured")
        return None
    env = {**os.environ, **tool_env(nsys)}
    runs: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="rooflens-calib-") as tmp:
        for i in range(processes):
            out = Path(tmp) / f"host{i}.json"
            mode = "--host-only" if i == 0 else "--host-ops-only"
            prog = [sys.executable, "-m", "rooflens.capture.calibrate", mode, str(out)]
            argv = profile_command(nsys, Path(tmp) / f"host{i}", prog)
            try:
                subprocess.run(argv, env=env, capture_output=True, timeout=300, check=True)
                runs.append(json.loads(out.read_text(encoding="utf-8")))
            except (OSError, subprocess.SubprocessError, ValueError) as exc:
                log(f"host costs under nsys, process {i + 1}: failed ({exc.__class__.__name__})")
                if i == 0:
                    return None
    doc = combine_processes(runs)
    layer_s = doc["ops"]["process_layer_s"]
    probes = doc["ops"].get("process_probe_layer_s") or []
    log(f"host under nsys: {doc['eager_call_s']['add'] * 1e6:.2f} us per eager add; "
        + ", ".join(f"{t * 1e6:.0f}" for t in layer_s) + " us per layer in "
        + f"{len(layer_s)} processes (probe " + ", ".join(f"{t * 1e6:.0f}" for t in probes)
        + " us)")  # fmt: skip
    return doc


def combine_processes(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The first process's benchmark with, as ``ops``, the per-operator costs of the process
    whose layer time is the median (the lower middle one of an even count) and every process's
    layer time as ``ops.process_layer_s`` (and probe as ``ops.process_probe_layer_s``: how well
    the probe follows the layer time across processes)."""
    samples = [r["ops"] for r in runs]
    middle = sorted(samples, key=lambda o: o["layer_s"])[(len(samples) - 1) // 2]
    ops = {**middle, "process_layer_s": [o["layer_s"] for o in samples]}
    if all("probe_layer_s" in o for o in samples):
        ops["process_probe_layer_s"] = [o["probe_layer_s"] for o in samples]
    return {**runs[0], "ops": ops}
