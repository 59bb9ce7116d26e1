#!/usr/bin/env bash
# GPU machine, one call: the capture-cost benchmark alone. Usage: OUT=/some/dir bash scripts/gpu_bench_capture.sh
set -u
OUT=${OUT:-$PWD/out}; mkdir -p "$OUT"
source scripts/gpu_env.sh
nvidia-smi --query-gpu=name --format=csv,noheader
python3 benchmarks/bench_capture.py --work /tmp/rooflens-bench 2>&1 | grep -v "^\[" | tee "$OUT/bench_capture.txt"
