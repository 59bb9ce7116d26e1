#!/usr/bin/env bash
# GPU machine, one call: 16-token generation eager vs CUDA graph (nsys), and a 4-token generation
# with nsys + ncu. Fixtures for tests/fixtures/h200_llama3_8b_decode16_{eager,graph} and _decode4.
set -u
OUT=${OUT:-$PWD/out}; mkdir -p "$OUT"
source scripts/gpu_env.sh
W=/tmp/rooflens-graph; rm -rf $W; mkdir -p $W
python3 -m rooflens profile --layers 1 --input-len 128 --output-len 16 --skip-ncu --out $W/decode16_eager
python3 -m rooflens profile --layers 1 --input-len 128 --output-len 16 --skip-ncu --cuda-graph --out $W/decode16_graph
python3 -m rooflens profile --layers 1 --input-len 128 --output-len 4 --out $W/decode4
rm -f $W/*/timeline.nsys-rep $W/*/kernels.ncu-rep
( cd $W && tar czf "$OUT/graph.tar.gz" . )
ls -la $W/*
