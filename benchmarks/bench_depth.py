"""ncu cost against model depth and generation length, with the representative sample (issue 11).

Run on a GPU machine (repo root, ``PYTHONPATH=src``)::

    python benchmarks/bench_depth.py [--grid 1x1,8x16,32x64] [--model llama-3-8b] [--work DIR]
                                     [--add RUN_DIR ...] [--json FILE]

For each ``LAYERSxOUTPUT`` point: one ``rooflens profile`` (nsys over everything, ncu over the
``ncu#Run[j]`` sample), then from its run folder: kernels in the chosen run (nsys), kernels ncu
profiled (its CSV), ncu time, total time, and what one ncu pass over every kernel of the run
would cost at the same seconds per kernel.  ncu time should stay flat across the grid (the
sample does not grow with depth or length) while the one-pass cost grows with the kernels.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from rooflens.analysis.timeline import analyze_timeline  # noqa: E402
from rooflens.traces import load_ncu, load_timeline  # noqa: E402


def measure(model: str, layers: int, output_len: int, work: Path, runs: int) -> dict[str, float]:
    """One ``rooflens profile`` at this point, timed, then its figures (:func:`figures`)."""
    out = work / f"{model}_L{layers}_o{output_len}_{int(time.time())}"
    argv = [sys.executable, "-m", "rooflens", "profile", "--model", model, "--layers", str(layers),
            "--output-len", str(output_len), "--runs", str(runs), "--out", str(out)]  # fmt: skip
    t0 = time.perf_counter()
    subprocess.run(argv, check=True)
    return figures(out, time.perf_counter() - t0)


def figures(out: Path, total_s: float | None = None) -> dict[str, float]:
    """Kernels, kernels profiled, nsys/ncu seconds and the one-pass cost of run folder ``out``.

    ``total_s``: the measured wall time; else (a folder made elsewhere, ``--add``) the sum of
    the manifest's step times (the workload's start-up inside nsys included, the CLI's own not).
    """
    manifest = json.loads((out / "manifest.json").read_text())
    elapsed = {s["name"]: float(s.get("elapsed_s") or 0.0) for s in manifest["steps"]}
    wl = manifest.get("settings") or {}
    run_kernels = len(analyze_timeline(load_timeline(out / "timeline.sqlite")).kernels)
    profiled = len(load_ncu(out / "kernels.csv").kernels)
    per_kernel = elapsed.get("ncu", 0.0) / profiled if profiled else float("nan")
    return {"layers": wl.get("layers"), "output_len": wl.get("output_len"),
            "run_kernels": run_kernels, "profiled": profiled, "nsys_s": elapsed.get("nsys", 0.0),
            "ncu_s": elapsed.get("ncu", 0.0),
            "total_s": total_s if total_s is not None else sum(elapsed.values()),
            "one_pass_s": run_kernels * per_kernel}  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument(
        "--grid",
        default="1x1,8x16,32x64",
        help="LAYERSxOUTPUT points, comma separated ('' for none)",
    )
    ap.add_argument("--model", default="llama-3-8b")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--work", type=Path, default=Path("/tmp/rooflens-depth"))
    ap.add_argument("--add", type=Path, nargs="*", default=[], help="run folders made before")
    ap.add_argument("--json", type=Path, default=None, help="also write the rows here")
    a = ap.parse_args()
    a.work.mkdir(parents=True, exist_ok=True)
    print(
        "layers output  kernels ncu-prof    nsys s    ncu s  total s  one-pass min (same s/kernel)"
    )
    rows: list[dict[str, float]] = []

    def keep(r: dict[str, float]) -> None:  # print and save each point as it comes
        rows.append(r)
        print(f"{r['layers']:>6} {r['output_len']:>6} {r['run_kernels']:>8} {r['profiled']:>8} "
              f"{r['nsys_s']:>8.1f} {r['ncu_s']:>8.1f} {r['total_s']:>8.1f} "
              f"{r['one_pass_s'] / 60:>10.1f}", flush=True)  # fmt: skip
        if a.json:
            a.json.write_text(json.dumps(rows, indent=2))

    for d in a.add:
        keep(figures(d))
    for point in filter(None, a.grid.split(",")):
        layers, out_len = (int(x) for x in point.lower().split("x"))
        keep(measure(a.model, layers, out_len, a.work, a.runs))


if __name__ == "__main__":
    main()
