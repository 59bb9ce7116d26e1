"""``rooflens calibrate``: microbenchmarks of what this GPU attains, timed on the device.

Every kernel time here is a **CUPTI kernel duration** (the same start/end that nsys and the
PyTorch profiler record for a capture), read from one ``torch.profiler`` session per benchmark
family: no launch overhead and no host gap enters a device time.  Points are separated in the
kernel stream by a marker kernel (``torch.cuda._sleep`` → ``spin_kernel``); each point is warmed
up before its first marker, then repeated ``reps`` times; the time of one repetition is the sum of
its kernels (cuBLAS split-K adds a reduction kernel) and a point keeps the median repetition.

Cache state, per family (the file says which): GEMMs and attention flush L2 before every
repetition (a 2 × L2-sized buffer is *read*; its reduction kernels are dropped), because a
serving step reads weights and KV cache from DRAM; memory-bound operators do **not** flush,
because in a decoder they read what the previous operator just wrote (L2-resident while it fits).

Clock: after every 20 ms of GEMM or attention work the device rests as long, spinning one SM
(:meth:`Timer.run`), so a compute-bound GEMM is timed at the boost clock a capture of a few
layers sees; under seconds of sustained GEMMs the H200's 700 W limit lowers the SM clock and
they take up to ~16 % longer.

This module: the timer, GEMM, attention, the file's key and the driver :func:`calibrate`.
Memory-bound and eager operators: :mod:`rooflens.capture.calibrate_eager`; host costs (per eager
call, per CUDA-graph replay, under nsys): :mod:`rooflens.capture.calibrate_host`; all-reduce
over message size (two or more GPUs): :mod:`rooflens.capture.calibrate_comm`.  torch is
imported lazily (only these modules need it); the file schema, lookup and interpolation live in
:mod:`rooflens.hardware.calibration`, which knows nothing of torch.
"""

from __future__ import annotations

import datetime
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from typing import Any

from rooflens.hardware.calibration import SCHEMA_NAME, SCHEMA_VERSION

Fn = Callable[[], object]
#: A point: (call, repetitions) or (call, repetitions, producer run before every timed call).
Point = tuple[Fn, int] | tuple[Fn, int, Fn | None]
M_GRID = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384)
LM_HEAD_MAX_M = 512  # the LM head runs on b rows only: larger M is never predicted
NK_GRID = ((1024, 1024), (4096, 4096), (16384, 4096), (4096, 16384), (16384, 16384), (2048, 8192))
MEM_SIZES = tuple(4**i * 4096 for i in range(11))  # 4 KiB … 4 GiB per tensor (fp16)
ATT_BATCH = (1, 8, 32)
ATT_PREFILL_S = (128, 256, 512, 1024, 2048, 4096)
ATT_DECODE_KV = (128, 512, 1024, 2048, 4096, 8192, 16384, 32768)
ATT_DECODE_BATCH = (1, 8, 32, 128)
MARKER = "spin_kernel"
#: Device seconds of points between two rests of the same length (:meth:`Timer.run`).
REST_AFTER_S = 0.02
PRODUCER = "FillFunctor"  # the kernel of a point's producer (fill_): dropped from the times


_T0 = time.perf_counter()


def log(msg: str) -> None:
    """Progress on stderr (stdout stays free for the file path), with the seconds since the
    calibration began: where its three minutes go."""
    print(f"calibrate: [{time.perf_counter() - _T0:6.1f} s] {msg}", file=sys.stderr, flush=True)


class Timer:
    """Times a list of points in one profiler session (module docstring)."""

    def __init__(self, torch: Any, l2_bytes: int, clock_hz: float = 2e9) -> None:
        self.torch = torch
        self.clock_hz = clock_hz  # SM cycles per second of a rest (the marker spins cycles)
        n = max(2 * l2_bytes, 1 << 26) // 4
        self.flush_buf = torch.zeros(n, dtype=torch.float32, device="cuda")

    def flush(self) -> None:
        """Evict L2 by *reading* 2 × L2 (a sum: ``at::native::reduce_kernel``, dropped from the
        results).  A write flush leaves dirty lines whose write-back the next kernel pays; a
        histogram of a constant buffer serialises on one bin's atomics (it cut a calibration
        short on the H200)."""
        self.flush_buf.sum()

    def run(
        self, points: Iterable[Point], flush: bool, gap_s: float = 0.0, rest: bool = False
    ) -> list[tuple[float, int, list[str]] | None]:
        """(median seconds per repetition, kernels per repetition, kernel names) per point.

        ``points`` may be a generator that allocates each point's tensors as it goes: the
        profiler keeps kernel records only, so one session can cover a whole family.  A point's
        producer runs after the flush, before each timed call; its kernels are dropped.

        ``rest``: once the points since the last rest have kept the device busy
        :data:`REST_AFTER_S` (CUDA events, read when they complete), the next closing marker
        spins one SM as long, so the device works at most about half the time and
        compute-bound points run at the boost clock a short capture sees, not at the clock the
        power limit leaves after seconds of back-to-back GEMMs (H200, 700 W: 1980 → 1410 MHz,
        +16 % time; 21 ms bursts with 20 ms rests kept the rested time —
        benchmarks/gpu_gemm_clocks.py).  The rest is queued on the device: the host never
        waits for it.
        """
        torch = self.torch
        from torch.profiler import ProfilerActivity, profile

        failed: set[int] = set()
        reps_of: list[int] = []
        produced = False
        busy = 0.0  # device seconds since the last rest
        pending: list[tuple[Any, Any]] = []  # (start, end) events of points not yet read
        with profile(activities=[ProfilerActivity.CUDA]) as prof:
            for i, point in enumerate(points):
                fn, reps = point[0], point[1]
                began = torch.cuda.Event(enable_timing=True) if rest else None
                if began is not None:
                    began.record()
                prep = point[2] if len(point) > 2 else None
                produced = produced or prep is not None
                reps_of.append(reps)
                try:
                    fn()
                    fn()
                except (RuntimeError, ValueError) as exc:
                    failed.add(i)
                    log(f"point {i} skipped: {str(exc).splitlines()[0][:120]}")
                torch.cuda._sleep(1000)
                for _ in range(reps if i not in failed else 0):
                    if flush:
                        self.flush()
                    if prep is not None:
                        prep()
                    fn()
                    if gap_s:
                        _spin(gap_s)
                spin = 1000
                if began is not None:
                    ended = torch.cuda.Event(enable_timing=True)
                    ended.record()
                    pending.append((began, ended))
                    while pending and pending[0][1].query():
                        a, b = pending.pop(0)
                        busy += a.elapsed_time(b) * 1e-3
                    if busy >= REST_AFTER_S:
                        spin, busy = max(spin, int(busy * self.clock_hz)), 0.0
                torch.cuda._sleep(spin)  # the closing marker (and the rest, if any)
            torch.cuda.synchronize()
        return _split(_kernels(prof), reps_of, failed, flush, produced)


def _spin(seconds: float) -> None:
    """Busy-wait on the host (sleep is too coarse for tens of microseconds)."""
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


def _kernels(prof: Any) -> list[tuple[float, float, str]]:
    """(start, duration s, name) of every device kernel, in start order."""
    out: list[tuple[float, float, str]] = []
    try:
        for e in prof.profiler.kineto_results.events():
            if str(e.device_type()).endswith("CUDA") and not e.name().startswith(
                ("Memcpy", "Memset")
            ):
                out.append((e.start_ns() * 1e-9, e.duration_ns() * 1e-9, e.name()))
    except AttributeError:  # older/newer torch: FunctionEvent list
        for ev in prof.events():
            if str(ev.device_type).endswith("CUDA") and not ev.name.startswith(
                ("Memcpy", "Memset")
            ):
                tr = ev.time_range
                out.append((tr.start * 1e-6, tr.elapsed_us() * 1e-6, ev.name))
    out.sort()
    return out


def _split(
    kernels: list[tuple[float, float, str]],
    reps_of: list[int],
    failed: set[int],
    flush: bool,
    produced: bool = False,
) -> list[tuple[float, int, list[str]] | None]:
    """Kernels cut into points at the markers; per point the median repetition.  The flush's
    sum is dropped (an argmax is a reduce_kernel too, and is what was timed), and so are the
    producers' fills."""
    segs: list[list[tuple[float, str]]] = [[]]
    for _, dur, name in kernels:
        if MARKER in name:
            segs.append([])
        elif flush and "at::native::reduce_kernel" in name and "ArgMax" not in name:
            continue
        elif produced and PRODUCER in name:
            continue
        else:
            segs[-1].append((dur, name))
    results: list[tuple[float, int, list[str]] | None] = []
    for i, reps in enumerate(reps_of):
        seg = segs[2 * i + 1] if 2 * i + 1 < len(segs) else []
        if i in failed or not seg or reps <= 0:
            results.append(None)
            continue
        per = max(1, len(seg) // reps)
        sums = [sum(d for d, _ in seg[r * per : (r + 1) * per]) for r in range(len(seg) // per)]
        names = list(dict.fromkeys(_short(n) for _, n in seg[:per]))
        results.append((statistics.median(sums), per, names))
    return results


def _short(name: str) -> str:
    return name if len(name) <= 96 else name[:93] + "..."


#: Device seconds of repetitions per point (at least 5, at most 50 repetitions): 20 ms until
#: 2026-12-02, when the calibration ran 199–226 s on host draws slower than the 162 s one.
POINT_DEVICE_S = 0.015


def _reps(estimate_s: float) -> int:
    """Repetitions: ~:data:`POINT_DEVICE_S` of device time per point, between 5 and 50."""
    return int(min(50, max(5, POINT_DEVICE_S / max(estimate_s, 1e-7))))


# -- the benchmarks ---------------------------------------------------------------------------
def preset_linears() -> list[tuple[int, int]]:
    """(N, K) of every linear of every bundled preset (TP = 1), from the predictor's operators."""
    from rooflens.model.loader import list_presets, load_architecture
    from rooflens.predict import ops as g
    from rooflens.predict.precision import Precision
    from rooflens.predict.workload import Workload

    pairs: set[tuple[int, int]] = set()
    for name in list_presets():
        arch = load_architecture(name)
        wl = Workload(batch=1, input_len=1, output_len=1, precision=Precision.parse("fp16"))
        dm = g.make_dims(arch, wl)
        st = g.decode_step(arch, wl, 2.0)
        before, after = g.model_ops(arch, dm, st)
        for moe in (False, True) if arch.num_experts else (False,):
            for op in [*before, *g.layer_ops(arch, dm, st, moe), *after]:
                if op.gemm is not None:
                    pairs.add((int(op.gemm[1]), int(op.gemm[2])))
    return sorted(pairs)


def bench_gemm(
    torch: Any, timer: Timer, dtype: str, nk: list[tuple[int, int]], peak: float
) -> list[dict[str, Any]]:
    """Time ``x[M,K] @ w[N,K]ᵀ`` (the workload's layout) over M for each (N, K), in one profiler
    session; fp8 through ``torch._scaled_mm`` with unit scales and a bf16 output."""
    tdt = {"fp16": torch.float16, "bf16": torch.bfloat16}.get(dtype, torch.bfloat16)
    grid = [(n, k, [m for m in M_GRID if n < 100_000 or m <= LM_HEAD_MAX_M]) for n, k in nk]

    def points() -> Iterable[tuple[Fn, int]]:
        for n, k, ms in grid:
            w = torch.randn(n, k, device="cuda", dtype=tdt)
            x = torch.randn(ms[-1], k, device="cuda", dtype=tdt)
            if dtype == "fp8":
                one = torch.ones((), device="cuda", dtype=torch.float32)
                w8, x8 = w.to(torch.float8_e4m3fn), x.to(torch.float8_e4m3fn)
                for m in ms:

                    def fp8(xm: Any = x8[:m], w8: Any = w8, one: Any = one) -> Any:
                        return torch._scaled_mm(
                            xm, w8.t(), scale_a=one, scale_b=one, out_dtype=torch.bfloat16
                        )

                    yield fp8, _reps(2.0 * m * n * k / peak + n * k / 4e12)
            else:
                for m in ms:

                    def mm(xm: Any = x[:m], w: Any = w) -> Any:
                        return xm @ w.t()

                    yield mm, _reps(2.0 * m * n * k / peak + 2.0 * n * k / 4e12)
            log(f"gemm {dtype} N={n} K={k}")

    res = iter(timer.run(points(), flush=True, rest=True))
    entries = []
    for n, k, ms in grid:
        ok = [(m, r) for m in ms if (r := next(res)) is not None]
        if not ok:
            continue
        entries.append({
            "n": n, "k": k, "m": [m for m, _ in ok], "time_s": [r[0] for _, r in ok],
            "kernels": [r[1] for _, r in ok], "kernel_names": sorted({x for _, r in ok for x in r[2]}),
        })  # fmt: skip
    return entries


def attention_configs() -> list[tuple[int, int, int]]:
    """(heads, kv_heads, head_dim) of the bundled presets with standard attention (not MLA)."""
    from rooflens.model.loader import list_presets, load_architecture

    cfgs = set()
    for name in list_presets():
        a = load_architecture(name)
        if not a.is_mla:
            cfgs.add((a.num_heads, a.num_kv_heads, a.head_dim))
    return sorted(cfgs)


#: Decode KV lengths one past each of :data:`ATT_DECODE_KV`: a KV length just past a tile
#: boundary pays for one more KV tile, and 63 of 64 decode steps are not at a boundary.
#: Measured beside the aligned lengths, the curve steps up there and the log–log interpolation
#: between steps reads the unaligned cost.
DECODE_PAST_TILE = 1


def _attention_grid(h: int) -> list[tuple[str, int, list[int]]]:
    """(phase, batch, KV lengths) measured; the largest points are left out (at most 2 M cached
    positions per batch; prefill at most 2²⁸ score elements per head, b·L² — per head, so that
    configurations with few heads do not measure longer prefills than the others: GPT-2's and
    Qwen3-0.6B's took 12–14 s each of a 199 s calibration on 2026-12-02)."""
    grid = []
    decode_kv = sorted({*ATT_DECODE_KV, *(L + DECODE_PAST_TILE for L in ATT_DECODE_KV)})
    for phase, batches, lens in (
        ("prefill", ATT_BATCH, ATT_PREFILL_S),
        ("decode", ATT_DECODE_BATCH, decode_kv),
    ):
        for b in batches:
            keep = [
                L for L in lens
                if b * L <= (1 << 21) and b * L * (L if phase == "prefill" else 1) <= (1 << 28)
            ]  # fmt: skip
            grid.append((phase, b, keep))
    return grid


def bench_attention(
    torch: Any, timer: Timer, dtype: str, cfg: tuple[int, int, int]
) -> list[dict[str, Any]]:
    """SDPA as the workload calls it (GQA, causal prefill; decode over a sliced KV cache), one
    profiler session per head configuration."""
    import torch.nn.functional as F

    tdt = {"fp16": torch.float16, "bf16": torch.bfloat16}[dtype]
    h, hkv, d = cfg
    grid = _attention_grid(h)

    def points() -> Iterable[tuple[Fn, int]]:
        for phase, b, lens in grid:
            if not lens:
                continue
            # one cache per batch, sliced per length as the workload slices its KV cache, not a
            # new multi-GB one per point (attention took 75 of 199 s of a calibration before)
            kc = torch.randn(b, hkv, max(lens) + 16, d, device="cuda", dtype=tdt)
            vc = torch.randn(b, hkv, max(lens) + 16, d, device="cuda", dtype=tdt)
            for L in lens:
                q_len = L if phase == "prefill" else 1
                q = torch.randn(b, h, q_len, d, device="cuda", dtype=tdt)
                causal = phase == "prefill"

                def fn(q: Any = q, kc: Any = kc, vc: Any = vc, L: int = L, c: bool = causal) -> Any:
                    return F.scaled_dot_product_attention(
                        q, kc[:, :, :L], vc[:, :, :L], is_causal=c, enable_gqa=h != hkv
                    )

                flops = 4.0 * b * h * d * q_len * L / (2 if causal else 1)
                yield fn, _reps(flops / 6e14 + 4.0 * b * hkv * L * d / 4e12)

    res = iter(timer.run(points(), flush=True, rest=True))
    out = []
    for phase, b, lens in grid:
        ok = [(L, r) for L in lens if (r := next(res)) is not None]
        if not ok:
            continue
        out.append({
            "phase": phase, "heads": h, "kv_heads": hkv, "head_dim": d, "batch": b,
            "kv_len": [L for L, _ in ok], "time_s": [r[0] for _, r in ok],
            "kernels": [r[1] for _, r in ok], "kernel_names": sorted({x for _, r in ok for x in r[2]}),
        })  # fmt: skip
    torch.cuda.empty_cache()
    log(f"attention {dtype} H={h} Hkv={hkv} d={d}")
    return out


# -- the file ---------------------------------------------------------------------------------
def _smi() -> dict[str, str]:
    """Driver and clocks from nvidia-smi (empty strings when it is missing)."""
    q = "name,driver_version,clocks.max.sm,clocks.sm,clocks.max.mem"
    try:
        line = subprocess.run(
            ["nvidia-smi", f"--query-gpu={q}", "--format=csv,noheader,nounits"],
            capture_output=True, text=True, timeout=20, check=True,
        ).stdout.splitlines()[0]  # fmt: skip
    except (OSError, subprocess.SubprocessError, IndexError):
        return {}
    vals = [v.strip() for v in line.split(",")]
    return dict(
        zip(
            ("name", "driver", "sm_clock_max_mhz", "sm_clock_mhz", "mem_clock_max_mhz"),
            vals,
            strict=False,
        )
    )


def identity(torch: Any) -> dict[str, Any]:
    """The calibration's key: GPU name, SM count, L2, clocks, driver, CUDA and torch versions."""
    p = torch.cuda.get_device_properties(0)
    smi = _smi()

    def num(key: str) -> float | None:
        try:
            return float(smi[key])
        except (KeyError, ValueError):
            return None

    return {
        "gpu_name": torch.cuda.get_device_name(0),
        "sm_count": int(p.multi_processor_count),
        "l2_bytes": int(getattr(p, "L2_cache_size", 0)),
        "memory_bytes": int(p.total_memory),
        "sm_clock_max_mhz": num("sm_clock_max_mhz"),
        "sm_clock_mhz": num("sm_clock_mhz"),
        "mem_clock_max_mhz": num("mem_clock_max_mhz"),
        "driver": smi.get("driver", ""),
        "cuda": str(torch.version.cuda),
        "torch": str(torch.__version__),
    }


def calibrate(
    quick: bool = False, dtypes: tuple[str, ...] = ("fp16", "bf16", "fp8")
) -> dict[str, Any]:
    """Run every benchmark and return the calibration document (docs/calibration.md).

    ``quick`` keeps the preset shapes of Llama-3-8B only and one dtype (a smoke test).
    """
    import torch

    if not torch.cuda.is_available():
        from rooflens.errors import RooflensError

        raise RooflensError("calibrate needs a CUDA GPU visible to torch; none is")
    global _T0
    t0 = _T0 = time.perf_counter()
    ident = identity(torch)
    log(
        f"{ident['gpu_name']}, driver {ident['driver']}, CUDA {ident['cuda']}, torch {ident['torch']}"
    )
    timer = Timer(torch, ident["l2_bytes"] or 50 << 20, (ident["sm_clock_max_mhz"] or 2e3) * 1e6)
    torch.backends.cuda.matmul.allow_tf32 = False
    nk = sorted(set(preset_linears()) | set(NK_GRID))
    if quick:
        nk, dtypes = [(6144, 4096), (4096, 14336), (128256, 4096)], dtypes[:1]
    peak = 8e14
    doc: dict[str, Any] = {"schema": SCHEMA_NAME, "version": SCHEMA_VERSION, "key": ident}
    from rooflens.capture.calibrate_comm import bench_allreduce
    from rooflens.capture.calibrate_eager import bench_eager, bench_memory
    from rooflens.capture.calibrate_host import bench_host_process, host_under_nsys

    with torch.inference_mode():
        doc["host"] = bench_host_process(torch)
        ops = doc["host"]["ops"]["op_s"]
        log(
            f"host: {doc['host']['eager_call_s']['add'] * 1e6:.2f} us per eager add, "
            f"{ops['rope'] * 1e6:.1f} us per workload rope"
        )
        if not quick:
            t_host = time.perf_counter()
            nsys_host = host_under_nsys(log)
            log(f"host costs under nsys: {time.perf_counter() - t_host:.0f} s")
            if nsys_host is not None:
                doc["host_nsys"] = nsys_host
        doc["memory"] = bench_memory(torch, timer)
        doc["eager"] = bench_eager(torch, timer, log)
        doc["min_kernel_s"] = min(min(e["time_s"]) for e in doc["memory"].values())
        gemm: dict[str, list[dict[str, Any]]] = {}
        for dt in dtypes:
            if dt == "fp8" and torch.cuda.get_device_capability(0) < (8, 9):
                log("fp8 skipped: the GPU has no FP8 tensor cores")
                continue
            gemm[dt] = bench_gemm(torch, timer, dt, nk, peak * (2 if dt == "fp8" else 1))
        doc["gemm"] = gemm
        cfgs = [(32, 8, 128)] if quick else attention_configs()
        # One 16-bit dtype: bf16 attention took 0.998x the fp16 time (median of 546 points, 5-95 %
        # 0.977-1.011x; H200, 2026-12-02) and 43 of a 189 s calibration; bf16 reads fp16's.
        att_dt = next((dt for dt in dtypes if dt in ("fp16", "bf16")), None)
        doc["attention"] = (
            {att_dt: [e for cfg in cfgs for e in bench_attention(torch, timer, att_dt, cfg)]}
            if att_dt
            else {}
        )
        doc["allreduce"] = bench_allreduce(torch, log)
    doc["method"] = {
        "timing": "CUPTI kernel durations (torch.profiler), median of repetitions, sum of the kernels of one call",
        "gemm_l2": "flushed before every repetition (reading 2 x L2)",
        "attention_l2": "flushed before every repetition (reading 2 x L2)",
        "gemm_clock": "GEMM and attention points: after every 20 ms of device time the GPU rests as long, one SM spinning (at most 50 % duty), so they run at the boost clock of a short capture, not the power-limited clock of sustained load",
        "eager": "eager operators as the workload calls them; back to back and isolated (host gap); warm and context (L2 flushed, activation input rewritten)",
        "host_nsys": "host benchmark re-run under nsys profile with the capture's flags",
        "memory_l2": "not flushed (inputs L2-resident while they fit)",
        "host": "wall-clock median of 10 batches of 200 eager calls on tiny tensors; per operator: the built-in workload's decoder (host.ops.reference), each NVTX range timed on the host, median over decode steps; graph replay of 200 kernels timed with CUDA events; ops.probe_layer_s: calibrate_host.host_probe run first in the same process",
    }
    doc["created"] = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
    doc["duration_s"] = round(time.perf_counter() - t0, 1)
    log(f"done in {doc['duration_s']:.0f} s")
    return doc


def eager_only(path: str) -> None:
    """``--eager-only FILE``: the ``eager`` section alone (all regimes), as JSON."""
    import json

    import torch

    from rooflens.capture.calibrate_eager import bench_eager

    ident = identity(torch)
    timer = Timer(torch, ident["l2_bytes"] or 50 << 20)
    with torch.inference_mode():
        doc = {"key": ident, "eager": bench_eager(torch, timer, log)}
    with open(path, "w", encoding="utf-8") as f:
        json.dump(doc, f)


def host_only(path: str, ops_only: bool = False) -> None:
    """``--host-only FILE``: the host benchmark alone (run under nsys by
    calibrate_host.host_under_nsys); ``--host-ops-only FILE``: its per-operator part, as
    ``{"ops": …}``."""
    import json

    import torch

    from rooflens.capture.calibrate_host import bench_host_process

    with torch.inference_mode():
        doc = bench_host_process(torch, ops_only)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(doc, f)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] in ("--host-only", "--host-ops-only"):
        host_only(sys.argv[2], ops_only=sys.argv[1] == "--host-ops-only")
    elif len(sys.argv) == 3 and sys.argv[1] == "--eager-only":
        eager_only(sys.argv[2])
