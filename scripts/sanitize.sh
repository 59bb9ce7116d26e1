#!/usr/bin/env bash
# Memory-safety check of the C extension (src/rooflens/traces/_fastread.c): builds it with
# AddressSanitizer + UndefinedBehaviorSanitizer, runs the trace tests against that build and
# mutation-fuzzes the Kineto scanner. Not part of CI (minutes); run it after changing the C.
#   bash scripts/sanitize.sh [ITERATIONS]
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${ROOFLENS_VENV:-.venv}/bin/python
N=${1:-3000}
WORK=$(mktemp -d)
SUFFIX=$("$PY" -c 'import sysconfig; print(sysconfig.get_config_var("EXT_SUFFIX"))')
INC=$("$PY" -c 'import sysconfig; print(sysconfig.get_paths()["include"])')
gcc -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -shared -fPIC -std=c11 \
  -I"$INC" src/rooflens/traces/_fastread.c -o "$WORK/_fastread$SUFFIX" -ldl
export ASAN_OPTIONS=detect_leaks=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
PRELOAD="$(gcc -print-file-name=libasan.so) $(gcc -print-file-name=libubsan.so)"
SO=src/rooflens/traces/_fastread$SUFFIX
cp "$SO" "$WORK/normal.so"
trap 'cp "$WORK/normal.so" "$SO"; rm -rf "$WORK"' EXIT
cp "$WORK/_fastread$SUFFIX" "$SO"
LD_PRELOAD="$PRELOAD" "$PY" -m pytest -q -p no:cacheprovider tests/traces
LD_PRELOAD="$PRELOAD" FASTREAD_DIR="$WORK" "$PY" scripts/fuzz_kineto_scan.py \
  tests/fixtures/h200_llama3_8b_prefill/trace.json 1 "$N"
echo "sanitizers: clean"
