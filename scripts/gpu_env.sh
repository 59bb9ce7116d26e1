# Sourced by the scripts/gpu_*.sh scripts: the environment rooflens needs on the GPU machine.
# - rooflens from this checkout (no install: nothing can be fetched there);
# - libdw/libelf for nsys's importer, unpacked from Debian's packages into .deps/root (docs/capture.md);
# - orjson and NVIDIA's ncu_report from carried wheels (.whl/). The ncu_report.py shipped in
#   Nsight Compute's extras/python crashed (segfault) reading a 38 MB report on the H200 machine
#   (2026-11-26); the PyPI wheel 2026.3.1 read the same file, so the wheel comes first.
export PYTHONPATH=$PWD/src${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1
[ -d .deps/root/usr/lib/x86_64-linux-gnu ] && export ROOFLENS_EXTRA_LIBS=$PWD/.deps/root/usr/lib/x86_64-linux-gnu
for w in .whl/*.whl; do
  [ -f "$w" ] && python3 -m pip install -q --no-index --no-deps --target /tmp/site "$w"
done
[ -d /tmp/site ] && export PYTHONPATH=/tmp/site:$PYTHONPATH
python3 -c "import orjson, ncu_report; print('rooflens env: orjson', orjson.__version__, '| ncu_report from', ncu_report.__file__)"
