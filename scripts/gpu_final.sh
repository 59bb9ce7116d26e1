#!/usr/bin/env bash
# GPU machine, one call: `rooflens run` end to end (examples/h200_llama3_8b_prefill), the small
# .ncu-rep fixture of the workload's GEMMs (tests/fixtures/h200_llama3_8b_gemm_ncu), smoke captures
# of other architectures and the GPU tests. The capture-cost benchmark: scripts/gpu_bench_capture.sh.
# Usage: OUT=/some/dir bash scripts/gpu_final.sh
set -u
OUT=${OUT:-$PWD/out}; mkdir -p "$OUT"
source scripts/gpu_env.sh
W=/tmp/rooflens-final; rm -rf $W; mkdir -p $W
echo "== rooflens run (seed defaults: llama-3-8b, 1 layer, b1, i128, o1), English report"
time python3 -m rooflens run --timeline both --lang en --out $W/example
echo "== small .ncu-rep fixture: the GEMM kernels of Run[2]"
python3 -m rooflens profile --model llama-3-8b --layers 1 --skip-nsys --ncu-kernel nvjet --out $W/gemm_ncu
echo "== smoke: MoE (qwen3-30b-a3b) and plain MLP (gpt2), output 4, nsys only"
python3 -m rooflens profile --model qwen3-30b-a3b --layers 1 --output-len 4 --skip-ncu --out $W/moe
python3 -m rooflens profile --model gpt2 --layers 2 --output-len 4 --skip-ncu --out $W/gpt2
echo "== GPU tests"
python3 -m pytest -q -m gpu tests/capture/test_gpu_capture.py -p no:cacheprovider 2>&1 | tail -15
rm -f $W/*/timeline.nsys-rep
ls -la $W/*
( cd $W && tar czf "$OUT/final.tar.gz" --exclude='kernels.ncu-rep' example moe gpt2 && tar czf "$OUT/gemm_ncu.tar.gz" gemm_ncu )
