"""GPU experiment (issue 10): why do large-M GEMMs run 9–20 % faster in real prefill captures
than in `rooflens calibrate`?  Hypotheses: (1) the calibration keeps the GPU busy for tens of
seconds, so its power limit lowers the SM clock; (2) operand data (randn, std 1, against the
workload's std-0.02 weights) changes power draw.  Prints, per condition, the time of one
``x[M,K] @ w[N,K]ᵀ`` (CUDA events, median of reps) and the SM clock read by NVML during it.

    python3 benchmarks/gpu_gemm_clocks.py          (GPU machine; ~40 s)
    python3 benchmarks/gpu_gemm_clocks.py duty     (bursts with rests between them; ~35 s)
"""

from __future__ import annotations

import statistics
import time

import torch

SHAPES = ((8192, 28672, 4096), (8192, 4096, 4096), (16384, 4096, 14336))


def clock() -> int:
    try:
        return int(torch.cuda.clock_rate())  # NVML current SM clock, MHz
    except Exception:  # noqa: BLE001 - pynvml missing: the experiment still times
        return -1


def timed(x: torch.Tensor, w: torch.Tensor, reps: int) -> tuple[float, int]:
    ts, clocks = [], []
    for _ in range(reps):
        a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        a.record()
        x @ w.t()
        b.record()
        clocks.append(clock())
        b.synchronize()
        ts.append(a.elapsed_time(b) * 1e-3)
    return statistics.median(ts), int(statistics.median(clocks))


def duty(rest_s: float, burst: int = 8, seconds: float = 6.0) -> None:
    """Bursts of ``burst`` back-to-back GEMMs (~21 ms), each followed by ``rest_s`` of idle, for
    ``seconds``: does the clock hold at boost when the GPU rests between points?"""
    m, n, k = SHAPES[0]
    x = torch.randn(m, k, device="cuda", dtype=torch.float16)
    w = torch.randn(n, k, device="cuda", dtype=torch.float16)
    time.sleep(2.0)
    ts, clocks = [], []
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        a.record()
        for _ in range(burst):
            x @ w.t()
        b.record()
        clocks.append(clock())
        b.synchronize()
        ts.append(a.elapsed_time(b) * 1e-3 / burst)
        if rest_s:
            time.sleep(rest_s)
    last = ts[len(ts) // 2 :]
    print(
        f"bursts of {burst} + rest {rest_s * 1e3:.0f} ms for {seconds:.0f} s: first burst "
        f"{ts[0] * 1e3:.3f} ms/GEMM, second half median {statistics.median(last) * 1e3:.3f} ms "
        f"({statistics.median(clocks[len(clocks) // 2 :])} MHz)"
    )


def main() -> None:
    import sys

    if sys.argv[1:] == ["duty"]:
        for rest in (0.0, 0.005, 0.02, 0.05):
            duty(rest)
        return
    print(torch.cuda.get_device_name(), "idle clock", clock(), "MHz")
    for std in (1.0, 0.02):
        for m, n, k in SHAPES:
            x = torch.randn(m, k, device="cuda", dtype=torch.float16)
            w = torch.randn(n, k, device="cuda", dtype=torch.float16) * std
            x @ w.t()
            torch.cuda.synchronize()
            time.sleep(2.0)  # rested: the GPU idles first, as before a short capture
            t_rest, c_rest = timed(x, w, 3)
            end = time.perf_counter() + 8.0  # sustained: 8 s of back-to-back GEMMs
            while time.perf_counter() < end:
                for _ in range(20):
                    x @ w.t()
                torch.cuda.synchronize()
            t_hot, c_hot = timed(x, w, 10)
            tf = 2.0 * m * n * k
            print(
                f"std {std:<5} M={m} N={n} K={k}: rested {t_rest * 1e3:.3f} ms "
                f"({tf / t_rest / 1e12:.0f} TFLOP/s, {c_rest} MHz), sustained "
                f"{t_hot * 1e3:.3f} ms ({tf / t_hot / 1e12:.0f} TFLOP/s, {c_hot} MHz), "
                f"{t_hot / t_rest - 1:+.1%}"
            )


if __name__ == "__main__":
    main()
