#!/usr/bin/env bash
# Capture everything the tests and examples need, on the GPU machine, in one go.
# Usage (repo root, GPU machine):  OUT=/some/dir bash scripts/gpu_capture.sh
# Needs: torch with CUDA, ncu; nsys from PATH or inside Nsight Compute; Debian's libdw1/libelf1
# unpacked under .deps/root (see docs/capture.md) when the machine lacks libdw.so.1.
set -u
OUT=${OUT:-$PWD/out}; mkdir -p "$OUT"
source scripts/gpu_env.sh
NCU=$(command -v ncu || ls /opt/nvidia/nsight-compute/*/ncu | tail -1)
W=/tmp/rooflens-work; rm -rf $W; mkdir -p $W
{
  date -u; nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv
  "$NCU" --version | tail -1
  python3 -c "import torch,sys; print('torch', torch.__version__, 'cuda', torch.version.cuda, torch.cuda.get_device_name())"
} > "$OUT/env.txt" 2>&1
cat "$OUT/env.txt"

echo "== tensor FLOP counters on GEMMs of known size"
"$NCU" --query-metrics 2>/dev/null | grep -E "ops_path_tensor|pipe_tensor" > $W/tensor_metrics.txt
TM=$(awk '{print $1".sum"}' $W/tensor_metrics.txt | grep ops_path_tensor | paste -sd,)
python3 -m rooflens.capture.flopcheck > $W/flopcheck_expected.json
"$NCU" --clock-control none --nvtx --nvtx-include 'regex:^flopcheck_.*$/' --metrics "$TM,sm__inst_executed_pipe_tensor_op_gmma.sum,gpu__time_duration.sum" \
  --csv --page raw python3 -m rooflens.capture.flopcheck > $W/flopcheck_ncu.csv 2> $W/flopcheck_ncu.err
echo "flopcheck rows: $(grep -c flopcheck -i $W/flopcheck_ncu.csv || true)"; tail -3 $W/flopcheck_ncu.err

echo "== fixture capture: llama-3-8b, 1 layer, fp16, b1, input 128, output 1, 3 runs (nsys + torch + ncu)"
time python3 -m rooflens profile --model llama-3-8b --layers 1 --batch 1 --input-len 128 --output-len 1 \
  --timeline both --out $W/llama3_prefill
echo "== decode: output 16, eager vs CUDA graph (nsys only)"
time python3 -m rooflens profile --model llama-3-8b --layers 1 --input-len 128 --output-len 16 --skip-ncu --out $W/llama3_decode_eager
time python3 -m rooflens profile --model llama-3-8b --layers 1 --input-len 128 --output-len 16 --skip-ncu --cuda-graph --out $W/llama3_decode_graph
( cd $W && tar czf "$OUT/capture.tar.gz" --exclude='*.qdstrm' . )
ls -la $W/*; du -sh $W
