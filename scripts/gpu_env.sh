# Sourced by the scripts/gpu_*.sh scripts: the environment rooflens needs on the GPU machine.
# - rooflens from this checkout (no install: nothing can be fetched there);
# - libdw/libelf for nsys's importer, unpacked from Debian's packages into .deps/root (docs/capture.md);
# - ncu_report from the Nsight Compute install (extras/python) or a carried wheel; orjson from a carried wheel.
export PYTHONPATH=$PWD/src${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1
[ -d .deps/root/usr/lib/x86_64-linux-gnu ] && export ROOFLENS_EXTRA_LIBS=$PWD/.deps/root/usr/lib/x86_64-linux-gnu
for d in /opt/nvidia/nsight-compute/*/extras/python; do [ -f "$d/ncu_report.py" ] && export PYTHONPATH=$PYTHONPATH:$d; done
need=""
python3 -c "import orjson" 2>/dev/null || need="$need orjson"
python3 -c "import ncu_report" 2>/dev/null || need="$need ncu_report"
for n in $need; do
  for w in .whl/$n-*.whl; do [ -f "$w" ] && python3 -m pip install -q --no-index --no-deps --target /tmp/site "$w"; done
done
[ -d /tmp/site ] && export PYTHONPATH=$PYTHONPATH:/tmp/site
python3 -c "import orjson, ncu_report; print('rooflens env: orjson', orjson.__version__, '| ncu_report from', ncu_report.__file__)"
