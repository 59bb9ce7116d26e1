#!/usr/bin/env bash
# GPU machine, one call: capture-cost benchmark, a small .ncu-rep fixture, a foreign-command
# capture, and the GPU tests.  Usage: OUT=/some/dir bash scripts/gpu_bench.sh
set -u
OUT=${OUT:-$PWD/out}; mkdir -p "$OUT"
source scripts/gpu_env.sh
W=/tmp/rooflens-work2; rm -rf $W; mkdir -p $W
echo "== small .ncu-rep (GEMM and attention kernels of Run[2])"
python3 -m rooflens profile --model llama-3-8b --layers 1 --skip-nsys --ncu-kernel "nvjet|sdpa|splitK" --out $W/small_ncu
ls -la $W/small_ncu
echo "== foreign command: flopcheck as a plain program, NVTX run ^flopcheck_fp16$"
python3 -m rooflens profile --nvtx-run '^flopcheck_fp16$' --out $W/foreign -- python3 -m rooflens.capture.flopcheck --m 2048 --n 2048 --k 2048
ls -la $W/foreign
echo "== failure path: a command that exits 3"
python3 -m rooflens profile --skip-ncu --out $W/failing -- python3 -c "import sys; print('boom'); sys.exit(3)"; echo "rc=$?"
echo "== capture cost benchmark"
python3 benchmarks/bench_capture.py --extra-sections --work $W/bench 2>&1 | grep -v "^\[" | tee $OUT/bench_capture.txt
echo "== GPU tests"
python3 -m pytest -q -m gpu tests/capture/test_gpu_capture.py -p no:cacheprovider 2>&1 | tail -15
( cd $W && tar czf "$OUT/capture2.tar.gz" small_ncu foreign failing )
