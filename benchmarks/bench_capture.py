"""Capture cost: rooflens's one-pass capture against the predecessor's per-kernel-name method.

Run on a GPU machine (repo root, ``PYTHONPATH=src``)::

    python benchmarks/bench_capture.py [--model llama-3-8b] [--layers 1] [--work /tmp/bench]

rooflens: one nsys run + one ncu process over every kernel of the chosen NVTX run.
Predecessor (the seed's method): the same nsys run, then one ncu process per *distinct kernel
name*, each re-running the whole program and profiling the first matching kernel of the run.
Both use the same sections and metrics, so the cost difference is the method, not the data.
Prints a table: wall time of each, the ratio, and the kernels each covered.
"""

from __future__ import annotations

import argparse
import csv
import io
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from rooflens.capture import ncu as ncu_cmd  # noqa: E402
from rooflens.tools import find_tool, tool_env  # noqa: E402


def _kernel_names(csv_path: Path) -> list[str]:
    text = csv_path.read_text(encoding="utf-8", errors="replace")
    start = text.find('"ID"')
    rows = list(csv.reader(io.StringIO(text[start:])))
    col = rows[0].index("Kernel Name")
    return [r[col] for r in rows[2:] if len(r) > col]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--model", default="llama-3-8b")
    ap.add_argument("--layers", type=int, default=1)
    ap.add_argument("--work", type=Path, default=Path("/tmp/rooflens-bench"))
    ap.add_argument(
        "--extra-sections", action="store_true", help="also time an ncu pass with 2 more sections"
    )
    a = ap.parse_args()
    a.work.mkdir(parents=True, exist_ok=True)
    # Twice: the first capture on a machine also asks ncu for its metric list (cached after).
    times = []
    for i in range(2):
        ours = a.work / f"ours_{i}_{int(time.time())}"
        argv = [sys.executable, "-m", "rooflens", "profile", "--model", a.model,
                "--layers", str(a.layers), "--out", str(ours)]  # fmt: skip
        t0 = time.perf_counter()
        subprocess.run(argv, check=True)
        times.append(time.perf_counter() - t0)
    t_cold, t_ours = times
    import json

    manifest = json.loads((ours / "manifest.json").read_text())
    steps = {s["name"]: s["elapsed_s"] for s in manifest["steps"]}
    program = manifest["settings"]["program"]
    program = [p for p in program if p != "--summary" and not p.endswith("workload.json")]
    names = _kernel_names(ours / "kernels.csv")
    distinct = list(dict.fromkeys(names))

    ncu = find_tool("ncu")
    assert ncu is not None
    env = tool_env(ncu)
    metrics, _ = ncu_cmd.select_metrics(ncu_cmd.query_metric_names(ncu, env))
    t1 = time.perf_counter()
    covered = 0
    for i, name in enumerate(distinct):
        # The first launch of this name within the run: skip the launches before it.
        skip = names.index(name)
        argv = ncu_cmd.profile_command(
            ncu,
            a.work / f"pred_{i}",
            program,
            run_regex=manifest["settings"]["ncu_nvtx_run"],
            metrics=metrics,
            extra=["--launch-skip", str(skip), "--launch-count", "1"],
        )
        r = subprocess.run(argv, capture_output=True, text=True, env=env)
        covered += int(r.returncode == 0 and (a.work / f"pred_{i}.ncu-rep").exists())
    t_pred = time.perf_counter() - t1 + steps.get("nsys", 0) + steps.get("nsys-export", 0)
    print(
        f"GPU: {manifest['environment'].get('gpu_name')}  model {a.model}, {a.layers} layer(s), fp16, b1, i128, o1"
    )
    print(f"{'method':<48}{'wall s':>10}{'kernels':>10}")
    print(
        f"{'rooflens, first capture (metric query not cached)':<48}{t_cold:>10.1f}{len(names):>10}"
    )
    print(f"{'rooflens (nsys + one ncu pass)':<48}{t_ours:>10.1f}{len(names):>10}")
    print(f"{'  of which ncu':<48}{steps.get('ncu', 0):>10.1f}")
    print(f"{'predecessor (nsys + ncu per distinct name)':<48}{t_pred:>10.1f}{covered:>10}")
    print(f"{'  distinct kernel names':<48}{'':>10}{len(distinct):>10}")
    print(
        f"speed-up: {t_pred / t_ours:.1f}x ({t_pred / t_cold:.1f}x for a first capture); "
        "rooflens covers every launch, the predecessor one per name"
    )
    if a.extra_sections:
        t2 = time.perf_counter()
        argv = ncu_cmd.profile_command(
            ncu,
            a.work / "ours_5sections",
            program,
            run_regex=manifest["settings"]["ncu_nvtx_run"],
            metrics=metrics,
            extra=["--section", "MemoryWorkloadAnalysis", "--section", "ComputeWorkloadAnalysis"],
        )
        subprocess.run(argv, capture_output=True, env=env)
        print(
            f"{'ncu pass with MemoryWorkload+ComputeWorkload sections':<48}{time.perf_counter() - t2:>10.1f}"
        )


if __name__ == "__main__":
    main()
