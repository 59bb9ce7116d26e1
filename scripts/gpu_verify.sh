#!/usr/bin/env bash
# GPU machine, one call: `rooflens run` end to end with the .ncu-rep read back, and the GPU tests.
# Usage: OUT=/some/dir bash scripts/gpu_verify.sh
set -u
OUT=${OUT:-$PWD/out}; mkdir -p "$OUT"
source scripts/gpu_env.sh
W=/tmp/rooflens-verify; rm -rf $W; mkdir -p $W
echo "== rooflens run (defaults), zh report from the .ncu-rep"
time python3 -m rooflens run --out $W/run; echo "rc=$?"
ls $W/run $W/run/report
grep -c "" $W/run/report/report.md
echo "== GPU tests"
python3 -m pytest -q -m gpu tests/capture/test_gpu_capture.py -p no:cacheprovider 2>&1 | tail -15
cp $W/run/report/report.md $OUT/run_report.md; cp $W/run/report/report.json $OUT/run_report.json; cp $W/run/manifest.json $OUT/run_manifest.json
