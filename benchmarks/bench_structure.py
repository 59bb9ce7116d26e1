"""Speed of structure inference without NVTX (issue 9): kernels per second of ``infer_structure``.

Run on any machine (repo root)::

    python benchmarks/bench_structure.py [--sizes 2500,35000,300000] [--repeat 3]

The stream is a real one: the plain Hugging Face ``generate()`` capture of the Llama-3-8B shape
(tests/fixtures/h200_hf_llama/plain.sqlite, 2,484 kernels: two calls of prefill + 7 decode
steps), repeated end to end until it has the requested number of kernels — so the inference
finds as many runs as there are repetitions, each with its layers and steps.  Prints the best of
``--repeat`` timings per size (the kernel-name table is loaded before timing).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from rooflens.analysis.inferred_runs import launch_order  # noqa: E402
from rooflens.analysis.operators import table  # noqa: E402
from rooflens.analysis.structure import infer_structure  # noqa: E402
from rooflens.traces import load_timeline  # noqa: E402
from rooflens.traces.projection import project  # noqa: E402

SOURCE = ROOT / "tests/fixtures/h200_hf_llama/plain.sqlite"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="2500,35000,300000")
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    trace = load_timeline(SOURCE)
    order = launch_order(trace, project(trace))
    k = trace.kernels
    base = (k.name_id[order], k.start_s[order], k.end_s[order], k.grid[order])
    table()
    print(f"{'kernels':>9} {'runs':>6} {'layers':>6} {'seconds':>8} {'kernels/s':>10}")
    for size in (int(x) for x in a.sizes.split(",")):
        reps = max(1, -(-size // base[0].size))
        span = float(base[2].max() - base[1].min()) + 1.0
        ids = np.tile(base[0], reps)
        shift = np.repeat(np.arange(reps) * span, base[0].size)
        start, end = np.tile(base[1], reps) + shift, np.tile(base[2], reps) + shift
        grid = np.tile(base[3], (reps, 1))
        best = float("inf")
        for _ in range(a.repeat):
            t0 = time.perf_counter()
            s = infer_structure(ids, trace.strings.values, start, end, grid)
            best = min(best, time.perf_counter() - t0)
        print(
            f"{ids.size:>9} {len(s.runs):>6} {s.layer_count:>6} {best:>8.3f} {ids.size / best:>10.0f}"
        )


if __name__ == "__main__":
    main()
