#!/usr/bin/env bash
# GPU machine, one call per part (each fits the 10-minute limit of one call):
#   cal    `rooflens calibrate` (fp16/bf16/fp8, every preset shape) -> the bundled calibration
#          file, then the CUDA-graph half of the accuracy matrix for Qwen3-8B
#          (scripts/gpu_accuracy_matrix.sh graph, Qwen3 only) while time remains;
#   whole  whole-model runs end to end with default options (issue 11): Llama-3-8B, 32 layers,
#          64 output tokens; Qwen3-30B-A3B (MoE), 48 layers, 16 output tokens;
#   calonly `rooflens calibrate` alone, then held-out accuracy captures (scripts/gpu_heldout.sh,
#          the set in $HELDOUT_SET, default 7,
#          until $CALONLY_BUDGET seconds, default 570);
#   depth  benchmarks/bench_depth.py: ncu cost over depth and generation length.
#   final  whole, then a short depth grid reusing the 32-layer run (what one call had room for).
# Usage: OUT=/some/dir bash scripts/gpu_round4.sh cal|calonly|whole|depth|final|moe|eager
# Every part writes $OUT/<part>.txt (timings, tails of logs) and one or two tarballs.
set -u
OUT=${OUT:-$PWD/out}; mkdir -p "$OUT"
source scripts/gpu_env.sh
PART=${1:?cal, calonly, whole, depth, final, moe or eager}
LOG=$OUT/$PART.txt
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm,clocks.sm,temperature.gpu \
  --format=csv | tee "$LOG"
SECONDS=0

calibrate() {  # `rooflens calibrate` -> $OUT/calibration.tar.gz (the file and its log)
  local W=/tmp/rooflens-calib; rm -rf $W; mkdir -p $W
  timeout 330 python3 -m rooflens calibrate --out $W/calibration.json 2> $W/calibrate.log
  echo "calibrate exit $? after $SECONDS s" | tee -a "$LOG"
  tail -25 $W/calibrate.log >> "$LOG"
  ( cd $W && tar czf "$OUT/calibration.tar.gz" . )
}

cal() {
  calibrate
  local M=/tmp/rooflens-matrix; mkdir -p $M/graph
  for b in 1 8 32; do
    for i in 128 1024; do
      [ $SECONDS -gt 540 ] && { echo "matrix: stopped before b$b i$i at $SECONDS s" | tee -a "$LOG"; break 2; }
      local d=$M/graph/qwen3-8b_b${b}_i${i} t=$SECONDS
      timeout $((590 - SECONDS)) python3 -m rooflens profile --model qwen3-8b --batch $b --input-len $i \
        --output-len 17 --layers 2 --runs 2 --skip-ncu --cuda-graph --out $d \
        > $M/graph.qwen3-8b_b${b}_i${i}.log 2>&1
      echo "graph qwen3-8b b$b i$i exit $? $((SECONDS - t)) s" | tee -a "$LOG"
      rm -f $d/timeline.nsys-rep
    done
  done
  ( cd $M && tar czf "$OUT/matrix_graph_qwen3-8b.tar.gz" graph graph.*.log )
}

whole_one() {  # name, time limit (s), then `rooflens run` arguments
  local name=$1 limit=$2; shift 2
  local W=/tmp/rooflens-whole t=$SECONDS; mkdir -p $W; rm -rf $W/$name
  timeout $limit python3 -m rooflens run "$@" --lang en --out "$W/$name" > "$W/$name.log" 2>&1
  echo "$name exit $? wall $((SECONDS - t)) s" | tee -a "$LOG"
  tail -30 "$W/$name.log" >> "$LOG"
  local R=$W/$name/report
  [ -f $R/report.md ] && wc -l $R/report.md | tee -a "$LOG" && ls -l $R/report.html $R/report.json | tee -a "$LOG"
  tar czf "$OUT/$name.tar.gz" -C $W --exclude='*.png' --exclude='report.html' \
    --exclude='timeline.sqlite' --exclude='*.nsys-rep' --exclude='*.ncu-rep' "$name" "$name.log"
}

whole() {
  whole_one llama3_8b_L32_o64 250 --layers 32 --output-len 64
  whole_one qwen3_30b_a3b_L48_o16 $((595 - SECONDS)) --model qwen3-30b-a3b --layers 48 --output-len 16
}

final() {  # whole + a short depth grid that reuses the 32-layer run (one call, ~9 minutes)
  whole_one llama3_8b_L32_o64 200 --layers 32 --output-len 64
  whole_one qwen3_30b_a3b_L48_o16 260 --model qwen3-30b-a3b --layers 48 --output-len 16
  local left=$((585 - SECONDS))
  [ $left -gt 60 ] && timeout $left python3 benchmarks/bench_depth.py --grid 1x16,8x16 --runs 3 \
    --add /tmp/rooflens-whole/llama3_8b_L32_o64 --work /tmp/rooflens-depth --json "$OUT/depth.json" \
    2>&1 | grep -v "^\[" | tail -20 | tee -a "$LOG"
}

moe() {  # the MoE run alone, after the ncu pass stopped building unsampled layers
  whole_one qwen3_30b_a3b_L48_o16 280 --model qwen3-30b-a3b --layers 48 --output-len 16
}

calonly() {  # `rooflens calibrate` alone, then the held-out captures (scripts/gpu_heldout.sh)
  calibrate
  bash scripts/gpu_heldout.sh ${HELDOUT_SET:-7} $((${CALONLY_BUDGET:-570} - SECONDS)) 2>&1 | grep -v "^rooflens env" | tee -a "$LOG"
}

eager() {  # the eager-operator calibration alone, with the cold (L2-flushed) regimes
  timeout 100 python3 -m rooflens.capture.calibrate --eager-only "$OUT/eager.json" 2>&1 | grep -v Warn | tail -8 | tee -a "$LOG"
}

depth() {
  timeout 580 python3 benchmarks/bench_depth.py --grid 1x1,1x16,8x16,1x64,8x64 --runs 2 \
    --work /tmp/rooflens-depth --json "$OUT/depth.json" 2>&1 | grep -v "^\[" | tail -40 | tee -a "$LOG"
}

$PART
echo "part $PART done after $SECONDS s" | tee -a "$LOG"
