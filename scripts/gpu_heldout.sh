#!/usr/bin/env bash
# GPU machine: held-out accuracy captures (issue 10) — shapes, models and dtypes outside the
# matrix of scripts/gpu_accuracy_matrix.sh.
#   set 1 (tests/fixtures/accuracy/h200_heldout/): captured 2026-12-02 03:41 UTC, before the
#     context regime and the GEMM rests were added, and not looked at until that method was
#     final.  Its Qwen3-0.6B and argmax rows then showed the need for per-width norm/argmax
#     curves, so set 1 is not blind for that change.
#   set 2 (tests/fixtures/accuracy/h200_heldout2/): captured in the same GPU call as the bundled
#     calibration that has the per-width curves and the per-operator host costs, after both
#     were written; new models (OPT: LayerNorm and GELU), shapes and mostly eager runs.
#   set 3 (tests/fixtures/accuracy/h200_heldout3/): captured in the same GPU call as the bundled
#     calibration that measures the host in several processes (its predicted bubble range),
#     after that was written: eager runs, host-bound and balanced shapes.
#   set 4 (tests/fixtures/accuracy/h200_heldout4/): captured in the same GPU call as the bundled
#     calibration that holds the host probe and the GELU and LayerNorm curves, after both were
#     written: eager runs in fresh processes, each with its host probe (workload.json), to
#     score the bubble predicted at the probed host speed; GPT-2 (12 layers) and OPT for the
#     plain MLP and LayerNorm.
#   set 5 (tests/fixtures/accuracy/h200_heldout5/): captured in the GPU call of a calibration
#     without the cold regimes (not the bundled one), after the workload probed its host just
#     before every run (set 4 probed once, before run 0, and two of its nine runs ran at the
#     other host speed); eager runs only.
#   set 6 (tests/fixtures/accuracy/h200_heldout6/): captured in the GPU call of a calibration
#     with decode attention also one KV position past each tile boundary (not the bundled one),
#     after that and the probe reference (the median over host processes) were written.
#   set 7 (tests/fixtures/accuracy/h200_heldout7/): captured in the same GPU call as the bundled
#     calibration (prefill attention capped per head), after set 6 was scored; eager runs.
# nsys only, 17 tokens (16 decode steps), runs 2 (run 0 warm-up, run 1 analysed); 2 layers, except
# Qwen3-0.6B in set 2 (8 layers, so its weights do not fit in the 50 MB L2).
# Usage: OUT=/some/dir bash scripts/gpu_heldout.sh [SET] [SECONDS_BUDGET]
# Leaves $OUT/heldout.tar.gz: one redacted timeline.sqlite (+ manifest, shape, workload JSON) per
# capture.
set -u
OUT=${OUT:-$PWD/out}; mkdir -p "$OUT"
source scripts/gpu_env.sh
SET=${1:-7}
BUDGET=${2:-540}
W=/tmp/rooflens-heldout; rm -rf $W; mkdir -p $W/h
START=$SECONDS
#     name                    model        batch input dtype layers flags
CASES1="mistral-7b_b4_i512      mistral-7b   4  512  fp16 2 -
qwen2.5-7b_b16_i256_graph     qwen2.5-7b   16 256  bf16 2 --cuda-graph
llama-3-8b_b2_i2048_bf16      llama-3-8b   2  2048 bf16 2 -
qwen3-0.6b_b8_i128            qwen3-0.6b   8  128  fp16 2 -
qwen3-0.6b_b64_i256_graph     qwen3-0.6b   64 256  fp16 2 --cuda-graph
qwen3-8b_b64_i128_graph       qwen3-8b     64 128  fp16 2 --cuda-graph
llama-2-7b_b16_i512           llama-2-7b   16 512  fp16 2 -"
CASES2="opt-6.7b_b8_i256        opt-6.7b     8  256  fp16 2 -
qwen2.5-7b_b1_i1024_bf16      qwen2.5-7b   1  1024 bf16 2 -
llama-2-7b_b2_i256            llama-2-7b   2  256  fp16 2 -
qwen3-8b_b16_i256             qwen3-8b     16 256  fp16 2 -
qwen3-0.6b_b1_i512_L8         qwen3-0.6b   1  512  fp16 8 -
mistral-7b_b8_i128_graph      mistral-7b   8  128  bf16 2 --cuda-graph
llama-3-8b_b4_i512_bf16_graph llama-3-8b   4  512  bf16 2 --cuda-graph"
CASES3="llama-3-8b_b2_i64            llama-3-8b   2  64   fp16 2 -
qwen3-8b_b4_i2048_bf16        qwen3-8b     4  2048 bf16 2 -
mistral-7b_b16_i512           mistral-7b   16 512  fp16 2 -
qwen2.5-7b_b8_i128            qwen2.5-7b   8  128  fp16 2 -
llama-2-7b_b1_i1024_bf16      llama-2-7b   1  1024 bf16 2 -
opt-6.7b_b1_i128              opt-6.7b     1  128  fp16 2 -
qwen3-8b_b24_i256             qwen3-8b     24 256  fp16 2 -
llama-3-8b_b16_i128_graph     llama-3-8b   16 128  fp16 2 --cuda-graph"
CASES4="gpt2_b8_i256_L12             gpt2         8  256  fp16 12 -
llama-3-8b_b4_i256            llama-3-8b   4  256  fp16 2 -
opt-6.7b_b4_i512              opt-6.7b     4  512  fp16 2 -
mistral-7b_b2_i128            mistral-7b   2  128  fp16 2 -
qwen3-8b_b8_i512              qwen3-8b     8  512  fp16 2 -
qwen2.5-7b_b16_i128_bf16      qwen2.5-7b   16 128  bf16 2 -
llama-2-7b_b8_i256            llama-2-7b   8  256  fp16 2 -
qwen3-0.6b_b4_i256_L8         qwen3-0.6b   4  256  fp16 8 -
llama-3-8b_b32_i128           llama-3-8b   32 128  fp16 2 -"
CASES5="llama-3-8b_b8_i128            llama-3-8b   8  128  fp16 2 -
qwen3-8b_b2_i256              qwen3-8b     2  256  fp16 2 -
opt-6.7b_b2_i256              opt-6.7b     2  256  fp16 2 -
mistral-7b_b4_i512            mistral-7b   4  512  fp16 2 -
gpt2_b4_i128_L12              gpt2         4  128  fp16 12 -
qwen2.5-7b_b8_i256            qwen2.5-7b   8  256  fp16 2 -
llama-2-7b_b4_i128_bf16       llama-2-7b   4  128  bf16 2 -
qwen3-8b_b16_i128             qwen3-8b     16 128  fp16 2 -
llama-3-8b_b16_i256           llama-3-8b   16 256  fp16 2 -
qwen3-0.6b_b16_i128_L8        qwen3-0.6b   16 128  fp16 8 -
mistral-7b_b1_i256            mistral-7b   1  256  fp16 2 -
opt-6.7b_b8_i128              opt-6.7b     8  128  fp16 2 -"
CASES6="llama-3-8b_b2_i512            llama-3-8b   2  512  fp16 2 -
qwen3-8b_b4_i128              qwen3-8b     4  128  fp16 2 -
mistral-7b_b8_i256_bf16       mistral-7b   8  256  bf16 2 -
opt-6.7b_b16_i256             opt-6.7b     16 256  fp16 2 -
gpt2_b16_i256_L12             gpt2         16 256  fp16 12 -
qwen2.5-7b_b4_i512            qwen2.5-7b   4  512  fp16 2 -
llama-2-7b_b16_i128           llama-2-7b   16 128  fp16 2 -
qwen3-0.6b_b8_i512_L8         qwen3-0.6b   8  512  fp16 8 -
llama-3-8b_b64_i128           llama-3-8b   64 128  fp16 2 -
qwen3-8b_b1_i1024             qwen3-8b     1  1024 fp16 2 -"
CASES7="llama-3-8b_b1_i256            llama-3-8b   1  256  fp16 2 -
qwen3-8b_b32_i128             qwen3-8b     32 128  fp16 2 -
mistral-7b_b16_i128           mistral-7b   16 128  fp16 2 -
opt-6.7b_b1_i512              opt-6.7b     1  512  fp16 2 -
gpt2_b32_i128_L12             gpt2         32 128  fp16 12 -
qwen2.5-7b_b2_i1024           qwen2.5-7b   2  1024 fp16 2 -
llama-2-7b_b2_i512            llama-2-7b   2  512  fp16 2 -
qwen3-0.6b_b32_i256_L8        qwen3-0.6b   32 256  fp16 8 -"
case $SET in 1) CASES=$CASES1 ;; 2) CASES=$CASES2 ;; 3) CASES=$CASES3 ;; 4) CASES=$CASES4 ;;
  5) CASES=$CASES5 ;; 6) CASES=$CASES6 ;; *) CASES=$CASES7 ;; esac
while read -r name model b i dtype layers flag; do
  left=$((BUDGET - (SECONDS - START)))
  [ $left -lt 60 ] && { echo "heldout: stopped before $name ($left s left)"; break; }
  [ "$flag" = - ] && flag=""
  t=$SECONDS
  timeout $left python3 -m rooflens profile --model $model --batch $b --input-len $i --dtype $dtype \
    --output-len 17 --layers $layers --runs 2 --skip-ncu $flag --out $W/h/$name > $W/h.$name.log 2>&1
  echo "heldout $name exit $? $((SECONDS - t)) s"
  rm -f $W/h/$name/timeline.nsys-rep
done <<< "$CASES"
( cd $W && tar czf "$OUT/heldout.tar.gz" h h.*.log )
