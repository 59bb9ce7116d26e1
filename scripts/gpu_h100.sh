#!/usr/bin/env bash
# One call on an H100: the seed-settings capture (`rooflens run`) and the FLOP-counter check.
set -u
OUT=${OUT:-$PWD/out}; mkdir -p "$OUT"
source scripts/gpu_env.sh
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | tee "$OUT/env.txt"
W=/tmp/rooflens-h100; rm -rf $W; mkdir -p $W
python3 -m rooflens run --timeline both --lang en --out $W/prefill
python3 -m rooflens profile --nvtx-run '^flopcheck_.*$' --skip-nsys --out $W/flopcheck -- python3 -m rooflens.capture.flopcheck
rm -f $W/*/timeline.nsys-rep $W/*/kernels.ncu-rep
( cd $W && tar czf "$OUT/h100.tar.gz" . )
ls -la $W/*
