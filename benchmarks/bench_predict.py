"""Prediction speed: one prediction after import, and a 10,000-configuration sweep.

Targets (issue 2): one prediction < 50 ms after import; 10,000 configurations < 10 s on a
2-core machine.  Prints figures; asserts nothing.  Run: ``python benchmarks/bench_predict.py``.
"""

from __future__ import annotations

import statistics
import time

T0 = time.perf_counter()
from rooflens.hardware import lookup  # noqa: E402
from rooflens.model import load_architecture  # noqa: E402
from rooflens.predict import Precision, Workload, predict  # noqa: E402
from rooflens.predict.sweep import sweep  # noqa: E402

IMPORT_S = time.perf_counter() - T0


def one_prediction(
    model: str, batch: int, s: int, n: int, precision: str = "W16A16KV16"
) -> tuple[float, float]:
    """(first call, median of 20 later calls) in seconds, including loading the preset."""
    times = []
    for _ in range(21):
        t = time.perf_counter()
        arch = load_architecture(model)
        predict(arch, lookup("H100"), Workload(batch, s, n, Precision.parse(precision)))
        times.append(time.perf_counter() - t)
    return times[0], statistics.median(times[1:])


def main() -> None:
    print(f"import rooflens.predict + model + hardware: {IMPORT_S * 1e3:.1f} ms")
    print(f"{'model':16} {'config':28} {'first call':>11} {'median':>9}")
    for model, b, s, n, p in [
        ("llama-2-7b", 1, 128, 1, "W16A16KV16"),
        ("llama-3-70b", 32, 2048, 1024, "W16A16KV16"),
        ("qwen3-30b-a3b", 8, 1024, 512, "fp8"),
        ("deepseek-v3", 64, 4096, 4096, "W8A8KV8"),
    ]:
        first, med = one_prediction(model, b, s, n, p)
        print(f"{model:16} b={b} s={s} n={n} {p:10} {first * 1e3:9.2f} ms {med * 1e3:7.2f} ms")
    arch, gpu = load_architecture("llama-3-8b"), lookup("H100")
    batches = list(range(1, 26))  # 25 × 20 × 20 = 10,000 configurations
    ins = [128 * i for i in range(1, 21)]
    outs = [64 * i for i in range(1, 21)]
    t = time.perf_counter()
    rows = sum(1 for _ in sweep(arch, gpu, Precision.parse("W16A16KV16"), batches, ins, outs))
    elapsed = time.perf_counter() - t
    print(
        f"sweep llama-3-8b, {rows} configurations (decode up to 1279 steps each): {elapsed:.2f} s "
        f"({elapsed / rows * 1e6:.0f} us per configuration)"
    )
    arch = load_architecture("deepseek-v3")
    t = time.perf_counter()
    rows = sum(1 for _ in sweep(arch, gpu, Precision.parse("fp8"), batches, ins, outs))
    elapsed = time.perf_counter() - t
    print(f"sweep deepseek-v3 (MLA + MoE), {rows} configurations: {elapsed:.2f} s")
    calibrated()


def calibrated() -> None:
    """A calibrated prediction: attainable times plus the run timeline, which simulates every
    kernel launch of one run eager and with CUDA graphs, at the median, fastest and slowest host
    process, without a profiler and under nsys (docs/calibration.md)."""
    from rooflens.hardware.calibration import bundled_for

    gpu = lookup("H200")
    cal = bundled_for(gpu.key)
    arch = load_architecture("llama-3-70b")
    wl = Workload(8, 1024, 512, Precision.parse("W16A16KV16"))
    t = time.perf_counter()
    predict(arch, gpu, wl, cal)
    print(f"calibrated llama-3-70b b8 s1024 n512 (80 layers, 511 decode steps, H200): "
          f"{time.perf_counter() - t:.2f} s")  # fmt: skip


if __name__ == "__main__":
    main()
