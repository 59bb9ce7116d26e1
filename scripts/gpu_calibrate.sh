#!/usr/bin/env bash
# GPU machine, one call: `rooflens calibrate` (all bundled preset shapes, fp16/bf16/fp8) and a
# probe of what torch.profiler reports for one matmul (diagnosis if the calibration fails).
# Leaves $OUT/calibration.tar.gz: calibration.json, calibrate.log, probe.log.
set -u
OUT=${OUT:-$PWD/out}; mkdir -p "$OUT"
source scripts/gpu_env.sh
W=/tmp/rooflens-calib; rm -rf $W; mkdir -p $W
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm,clocks.mem,temperature.gpu,power.draw --format=csv > $W/smi.txt 2>&1
python3 - > $W/probe.log 2>&1 <<'PY'
import torch
from torch.profiler import profile, ProfilerActivity
a = torch.randn(256, 4096, device="cuda", dtype=torch.float16); w = torch.randn(4096, 4096, device="cuda", dtype=torch.float16)
a @ w.t(); torch.cuda.synchronize()
with profile(activities=[ProfilerActivity.CUDA]) as p:
    torch.cuda._sleep(1000); a @ w.t(); torch.cuda._sleep(1000); torch.cuda.synchronize()
for e in p.profiler.kineto_results.events():
    print(e.device_type(), e.name()[:100], e.start_ns(), e.duration_ns())
PY
SECONDS=0
timeout 200 python3 -m rooflens calibrate ${CAL_ARGS:-} --out $W/calibration.json 2> $W/calibrate.log
echo "calibrate exit $? after $SECONDS s" >> $W/calibrate.log
tail -3 $W/calibrate.log
( cd $W && tar czf "$OUT/calibration.tar.gz" . )
