#!/usr/bin/env bash
# GPU machine: held-out accuracy captures (issue 10) — shapes, models and dtypes outside the
# matrix of scripts/gpu_accuracy_matrix.sh. Captured 2026-12-02 03:41 UTC (before the context
# regime and the GEMM rests were added) and not looked at until the calibration method was final,
# so nothing about the calibration or the predictor was chosen while looking at them.
# nsys only, 2 layers, 17 tokens (16 decode steps), runs 2 (run 0 warm-up, run 1 analysed).
# Usage: OUT=/some/dir bash scripts/gpu_heldout.sh [SECONDS_BUDGET]
# Leaves $OUT/heldout.tar.gz: one redacted timeline.sqlite (+ manifest, shape, workload JSON) per
# capture, committed under tests/fixtures/accuracy/h200_heldout/.
set -u
OUT=${OUT:-$PWD/out}; mkdir -p "$OUT"
source scripts/gpu_env.sh
BUDGET=${1:-540}
W=/tmp/rooflens-heldout; rm -rf $W; mkdir -p $W/h
START=$SECONDS
#     name                    model        batch input dtype flags
CASES="mistral-7b_b4_i512       mistral-7b   4  512  fp16 -
qwen2.5-7b_b16_i256_graph     qwen2.5-7b   16 256  bf16 --cuda-graph
llama-3-8b_b2_i2048_bf16      llama-3-8b   2  2048 bf16 -
qwen3-0.6b_b8_i128            qwen3-0.6b   8  128  fp16 -
qwen3-0.6b_b64_i256_graph     qwen3-0.6b   64 256  fp16 --cuda-graph
qwen3-8b_b64_i128_graph       qwen3-8b     64 128  fp16 --cuda-graph
llama-2-7b_b16_i512           llama-2-7b   16 512  fp16 -"
while read -r name model b i dtype flag; do
  left=$((BUDGET - (SECONDS - START)))
  [ $left -lt 60 ] && { echo "heldout: stopped before $name ($left s left)"; break; }
  [ "$flag" = - ] && flag=""
  t=$SECONDS
  timeout $left python3 -m rooflens profile --model $model --batch $b --input-len $i --dtype $dtype \
    --output-len 17 --layers 2 --runs 2 --skip-ncu $flag --out $W/h/$name > $W/h.$name.log 2>&1
  echo "heldout $name exit $? $((SECONDS - t)) s"
  rm -f $W/h/$name/timeline.nsys-rep
done <<< "$CASES"
( cd $W && tar czf "$OUT/heldout.tar.gz" h h.*.log )
