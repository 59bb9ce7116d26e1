#!/usr/bin/env bash
# GPU machine, one call: whole-model captures with ncu on the representative sample (issue 11).
# - Llama-3-8B shape, all 32 layers, 16 output tokens: `rooflens run` end to end, trimmed for
#   tests/fixtures/h200_llama3_8b_32layers_o16 (scripts/trim_capture.py);
# - Qwen3-30B-A3B shape (MoE), all 48 layers, 16 output tokens: `rooflens run` end to end.
# Usage: OUT=/some/dir bash scripts/gpu_whole_model.sh
set -u
OUT=${OUT:-$PWD/out}; mkdir -p "$OUT"
source scripts/gpu_env.sh
W=/tmp/rooflens-whole; rm -rf $W; mkdir -p $W
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv | tee "$OUT/gpu.txt"
one() {  # name, then rooflens run arguments
  local name=$1; shift
  local t0=$SECONDS  # bash's own clock: the GPU machine has no bc
  timeout 280 python3 -m rooflens run "$@" --lang en --out "$W/$name" > "$W/$name.log" 2>&1
  local rc=$?
  echo "$name rc=$rc wall_s=$((SECONDS - t0))" | tee -a "$OUT/times.txt"
  tail -4 "$W/$name.log"
  grep -h "elapsed\|\[ *[0-9.]* s\]" "$W/$name.log" | tail -12 >> "$OUT/times.txt"
  [ -f "$W/$name/report/report.md" ] && wc -lc "$W/$name/report/report.md" "$W/$name/report/report.html" "$W/$name/report/report.json" | tee -a "$OUT/times.txt"
  python3 scripts/trim_capture.py "$W/$name" | tee -a "$OUT/times.txt"
  cp "$W/$name.log" "$W/$name/logs/run.log" 2>/dev/null
  tar cJf "$OUT/$name.tar.xz" -C "$W" --exclude='*.png' --exclude='report.html' "$name"
  ls -la "$OUT/$name.tar.xz"
}
one llama3_8b_32layers_o16 --layers 32 --output-len 16 --runs 2
one qwen3_30b_a3b_48layers_o16 --model qwen3-30b-a3b --layers 48 --output-len 16 --runs 2
