#!/usr/bin/env bash
# GPU machine, one call: Hugging Face generate() programs rooflens did not write
# (scripts/foreign/hf_generate.py), each captured three ways, for tests/fixtures/h200_hf_<model>/:
#   annotated  rooflens profile --skip-ncu -- python3 ...        (capture/annotate/ on PYTHONPATH)
#   plain      nsys profile with no NVTX at all, exported to SQLite and redacted
#   truth      nsys profile of the program's --truth mode (ranges named by module path)
# plus the annotation's overhead: generate() wall time without any profiler, with and without it.
set -u
OUT=${OUT:-$PWD/out}; mkdir -p "$OUT"
source scripts/gpu_env.sh
W=/tmp/rooflens-foreign; rm -rf $W; mkdir -p $W
NSYS=$(python3 -c "from rooflens.capture.tools import find_tool; print(find_tool('nsys'))")
export LD_LIBRARY_PATH=${ROOFLENS_EXTRA_LIBS:+$ROOFLENS_EXTRA_LIBS:}${LD_LIBRARY_PATH:-}
ANN=$PWD/src/rooflens/capture/annotate
PROG=scripts/foreign/hf_generate.py
python3 $PROG --probe | tee $W/probe.json
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee $W/gpu.txt

plain_nsys() {  # name, then the program's arguments
  local name=$1; shift
  "$NSYS" profile -t cuda,nvtx -s none --cpuctxsw=none --cuda-graph-trace=node -o $W/$name -f true \
    python3 $PROG "$@" > $W/$name.log 2>&1
  "$NSYS" export --type sqlite -o $W/$name.sqlite $W/$name.nsys-rep >> $W/$name.log 2>&1
  python3 -m rooflens redact $W/$name.sqlite >> $W/$name.log 2>&1
  tail -3 $W/$name.log
}

for spec in "llama --dtype fp16 --input-len 256" "qwen3moe --dtype bf16 --input-len 128"; do
  set -- $spec; M=$1; shift; ARGS="--model $M $* --layers 2 --batch 4 --output-len 8"
  echo "== $M: $ARGS"
  python3 -m rooflens profile --skip-ncu --out $W/${M}_annotated -- python3 $PROG $ARGS \
    > $W/${M}_annotated.log 2>&1; echo "annotated rc=$?"; tail -3 $W/${M}_annotated.log
  plain_nsys ${M}_plain $ARGS
  plain_nsys ${M}_truth $ARGS --truth
  # overhead (no profiler): 10 generate() calls each way, twice alternating
  for rep in 1 2; do
    python3 $PROG $ARGS --timing 10 | tee -a $W/${M}_timing_plain.jsonl
    PYTHONPATH=$ANN:$PYTHONPATH ROOFLENS_ANNOTATE=1 python3 $PROG $ARGS --timing 10 | tee -a $W/${M}_timing_annotated.jsonl
  done
done
rm -f $W/*.nsys-rep $W/*/timeline.nsys-rep
ls -la $W $W/*_annotated
( cd $W && tar czf "$OUT/foreign.tar.gz" . )
# CUDA graphs: static KV cache, generate() compiles the decode step (torch.compile reduce-overhead)
mkdir -p $W/static; M=llama; ARGS="--model llama --dtype fp16 --input-len 256 --layers 2 --batch 4 --output-len 8 --static"
timeout 200 python3 -m rooflens profile --skip-ncu --out $W/static/${M}_annotated -- python3 $PROG $ARGS \
  > $W/static_annotated.log 2>&1; echo "static annotated rc=$?"; tail -3 $W/static_annotated.log
rm -f $W/static/*/timeline.nsys-rep
( cd $W && tar czf "$OUT/static.tar.gz" static static_annotated.log )
