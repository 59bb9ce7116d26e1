"""GEMMs of known size for checking NCU's tensor FLOP counters (run under ncu on a GPU).

Each GEMM of M×N×K does exactly 2·M·N·K floating-point operations.  Profiling this program with
``sm__ops_path_tensor_*`` metrics shows which counter each dtype increments and by how much;
GPU.md found ``sm__ops_path_tensor_src_fp8.sum`` = 2·M·N·K for FP8 on an H200, so the "ops"
counters count FLOPs (one multiply-add = 2).  ``benchmarks``/fixtures record the result.
"""

from __future__ import annotations

import argparse
import json

import torch


def run(m: int, n: int, k: int) -> dict[str, int]:
    """Run one FP16, one BF16 and (where supported) one FP8 GEMM, each in an NVTX range."""
    dev = "cuda"
    done: dict[str, int] = {}
    for name, dt in (("fp16", torch.float16), ("bf16", torch.bfloat16)):
        a = torch.randn(m, k, device=dev, dtype=dt)
        b = torch.randn(n, k, device=dev, dtype=dt)
        torch.cuda.nvtx.range_push(f"flopcheck_{name}")
        a @ b.t()
        torch.cuda.nvtx.range_pop()
        done[name] = 2 * m * n * k
    if hasattr(torch, "float8_e4m3fn") and torch.cuda.get_device_capability() >= (8, 9):
        a8 = torch.randn(m, k, device=dev).to(torch.float8_e4m3fn)
        b8 = torch.randn(n, k, device=dev).to(torch.float8_e4m3fn)
        one = torch.ones((), device=dev)
        torch.cuda.nvtx.range_push("flopcheck_fp8")
        torch._scaled_mm(a8, b8.t(), scale_a=one, scale_b=one, out_dtype=torch.bfloat16)
        torch.cuda.nvtx.range_pop()
        done["fp8"] = 2 * m * n * k
    torch.cuda.synchronize()
    return done


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--m", type=int, default=4096)
    ap.add_argument("--n", type=int, default=4096)
    ap.add_argument("--k", type=int, default=4096)
    a = ap.parse_args()
    print(json.dumps({"expected_flops": run(a.m, a.n, a.k), "m": a.m, "n": a.n, "k": a.k}))


if __name__ == "__main__":
    main()
