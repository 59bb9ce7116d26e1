#!/usr/bin/env bash
# Regenerate the committed golden reports after a report-format change (no GPU needed):
# the bundled examples (zh and en) and the whole-model fixture's English report.
# tests/examples and tests/analysis/test_whole_model.py check that they are current.
set -euo pipefail
cd "$(dirname "$0")/.."
R=${ROOFLENS:-rooflens}
for e in examples/h100_llama3_8b_prefill examples/h200_llama3_8b_prefill; do
  $R report $e --force >/dev/null && $R report $e --lang en --out $e/report-en --force >/dev/null
done
W=tests/fixtures/h200_llama3_8b_32layers_o16
$R report $W --lang en --out $W/report-en --force >/dev/null
rm -f $W/report-en/report.json $W/report-en/report.html  # 29 MB of JSON, 1.8 MB of HTML: not committed
wc -l examples/*/report*/report.md $W/report-en/report.md
