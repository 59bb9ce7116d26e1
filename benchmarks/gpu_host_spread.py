"""GPU experiment (issue 10): how much does the host's speed vary between processes, and does
pinning a process to one CPU core steady it?

The held-out captures of 2026-12-02 (set 2), taken one after another in one GPU call right after
the calibration, spent 579–1595 µs of host time per decoder layer for the same operators: a
2.7× spread that no per-operator cost can predict.  This starts ``N`` fresh processes one after
another, each timing the built-in workload's operators on the host (the calibration's
``bench_host_ops``, no profiler), and prints per process the CPU it ran on, the host seconds of
one eager add, of RoPE and of a whole decoder layer.  Modes: ``unpinned``; ``pinned`` to one
core (``os.sched_setaffinity`` in the child); ``hashseed0`` (``PYTHONHASHSEED=0``: the same
dict and set layout in every process); ``noaslr`` (``setarch -R``: the same addresses).

    python3 benchmarks/gpu_host_spread.py [N] [MODE ...]   (GPU machine; ~7 s per process)

Measured 2026-12-02 on the H200 machine (KVM guest, 16 vCPUs at 2.1 GHz): unpinned 469–849 µs
per layer over 6 processes, pinned 503–790 µs — pinning does not steady it.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time

CHILD = r"""
import json, os, statistics, sys, time
pin = int(sys.argv[1])
if pin >= 0:
    os.sched_setaffinity(0, {pin})
import torch
from rooflens.capture.calibrate_host import _host_loop, bench_host_ops
a = torch.randn(64, 64, device="cuda", dtype=torch.float16)
add = _host_loop(torch, lambda: a + a)
ops = bench_host_ops(torch, steps=16)
per_layer = sum(v for k, v in ops["op_s"].items() if k not in
                ("embedding", "final_norm", "lm_head", "sampling")) + ops["layer_extra_s"]
cpu = int(open("/proc/self/stat").read().split()[38])
print(json.dumps({"cpu": cpu, "add": add, "rope": ops["op_s"]["rope"], "layer": per_layer}))
"""


def cpu_mhz() -> str:
    try:
        mhz = [float(line.split(":")[1]) for line in open("/proc/cpuinfo")
               if line.startswith("cpu MHz")]  # fmt: skip
        return f"{min(mhz):.0f}-{max(mhz):.0f} MHz over {len(mhz)} CPUs"
    except (OSError, ValueError):
        return "cpu MHz unknown"


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 6
    modes = sys.argv[2:] or ["unpinned", "pinned"]
    cpus = sorted(os.sched_getaffinity(0))
    print(f"{len(cpus)} CPUs visible; {cpu_mhz()}")
    rows: dict[str, list[dict[str, float]]] = {m: [] for m in modes}
    for mode in rows:
        for i in range(n):
            pin = cpus[(2 + 2 * i) % len(cpus)] if mode == "pinned" else -1
            env = {**os.environ, **({"PYTHONHASHSEED": "0"} if mode == "hashseed0" else {})}
            pre = ["setarch", os.uname().machine, "-R"] if mode == "noaslr" else []
            t0 = time.perf_counter()
            argv = [*pre, sys.executable, "-c", CHILD, str(pin)]
            out = subprocess.run(argv, capture_output=True, text=True, check=False, env=env)
            if out.returncode:
                print(f"{mode} {i}: failed: {out.stderr.strip().splitlines()[-1:]}")
                continue
            r = json.loads(out.stdout.strip().splitlines()[-1])
            rows[mode].append(r)
            print(f"{mode:8} {i}: cpu {r['cpu']:3d}  add {r['add'] * 1e6:6.2f} us  rope "
                  f"{r['rope'] * 1e6:7.1f} us  layer {r['layer'] * 1e6:7.1f} us  "
                  f"({time.perf_counter() - t0:.1f} s)")  # fmt: skip
    for mode, rs in rows.items():
        if rs:
            lay = [r["layer"] * 1e6 for r in rs]
            print(
                f"{mode}: layer median {statistics.median(lay):.0f} us, "
                f"{min(lay):.0f}-{max(lay):.0f} us ({max(lay) / min(lay):.2f}x)"
            )


if __name__ == "__main__":
    main()
