#!/usr/bin/env bash
# GPU machine: the accuracy matrix of benchmarks/bench_accuracy.py (issue 10) — Llama-3-8B and
# Qwen3-8B shapes, 2 layers, batch 1/8/32, input 128/1024, 17 tokens (16 decode steps), nsys only,
# runs 2 (run 0 warm-up, run 1 analysed). Argument: eager | graph | both (default both).
# Leaves $OUT/matrix_<mode>_<model>.tar.gz with one redacted timeline.sqlite (+ manifest, shape, workload
# JSON) per capture; they are committed under tests/fixtures/accuracy/.
set -u
OUT=${OUT:-$PWD/out}; mkdir -p "$OUT"
source scripts/gpu_env.sh
MODE=${1:-both}
W=/tmp/rooflens-matrix; mkdir -p $W
for mode in eager graph; do
  [ "$MODE" = both ] || [ "$MODE" = $mode ] || continue
  flag=""; [ $mode = graph ] && flag="--cuda-graph"
  for model in llama-3-8b qwen3-8b; do
    for b in 1 8 32; do
      for i in 128 1024; do
        d=$W/$mode/${model}_b${b}_i${i}
        SECONDS=0
        python3 -m rooflens profile --model $model --batch $b --input-len $i --output-len 17 \
          --layers 2 --runs 2 --skip-ncu $flag --out $d > $W/$mode.${model}_b${b}_i${i}.log 2>&1
        echo "$mode $model b$b i$i exit $? ${SECONDS}s"
        rm -f $d/timeline.nsys-rep
      done
    done
    ( cd $W && tar czf "$OUT/matrix_${mode}_$model.tar.gz" $mode/${model}_* $mode.${model}_*.log )
  done
done
