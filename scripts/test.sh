#!/usr/bin/env bash
# Install everything the tests need on a fresh machine (Python, pip and gcc are assumed) and run them.
# The README's test command; CI (.ci/run) calls exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${ROOFLENS_VENV:-.venv}
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
PY="$VENV/bin/python"
"$PY" -m pip install -q --upgrade pip
"$PY" -m pip install -q -c requirements/constraints.txt -e '.[test]' torch
# Headless Chromium for the HTML report test (Debian's package; root installs it, others skip that test).
if ! command -v chromium >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
    || echo "warning: could not install chromium; the HTML browser test will be skipped"
fi
"$PY" -m ruff check src tests benchmarks
"$PY" -m mypy
"$PY" -m pytest -q "$@"
