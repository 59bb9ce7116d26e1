"""Accuracy of the ideal and the attainable prediction against every committed real capture.

    .venv/bin/python benchmarks/bench_accuracy.py [--calibration FILE] [RUN_DIR ...]

For each capture (a run folder with ``manifest.json`` and a timeline under ``tests/fixtures``,
``examples`` and ``tests/fixtures/accuracy``) the report pipeline predicts the run (with the
bundled calibration of the detected GPU, or ``--calibration``) and joins it to the measured
kernels (``analysis.compare``: the chosen run, in scope).  Printed:

- per operator class (GEMM, attention, norm, elementwise, embedding/lm_head, other) the median
  and p90 of |predicted / measured − 1| over (capture, operator, phase) rows, ideal and attainable;
- per phase (prefill, decode: Σ kernel time of the operators measured) the same;
- predicted vs measured bubble ratio of the chosen run, eager and CUDA-graph captures apart: at
  the calibrated host costs (and whether the measured one lies in the range over the host
  processes the calibration measured), at the host speed the built-in workload probed just
  before the run (captures with a probe: ``at_probed_host``) and at the run's own host speed
  (its NVTX range);

once for the development captures and once per held-out set (:data:`HELD_OUT`).

The calibration comes from ``rooflens calibrate`` microbenchmarks only; nothing here is fitted.
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
CLASSES = {
    "qkv_proj": "gemm", "o_proj": "gemm", "gate_up_proj": "gemm", "down_proj": "gemm",
    "q_proj": "gemm", "router": "gemm", "attention": "attention",
    "attn_norm": "norm", "mlp_norm": "norm", "final_norm": "norm", "qk_norm": "norm",
    "rope": "elementwise", "act": "elementwise", "attn_residual": "elementwise",
    "mlp_residual": "elementwise", "kv_cache_write": "elementwise",
    "embedding": "embedding/lm_head", "lm_head": "embedding/lm_head",
}  # fmt: skip
ORDER = ("gemm", "attention", "norm", "elementwise", "embedding/lm_head", "other")
#: Captures in folders of these names (scripts/gpu_heldout.sh sets 1 … 7) were not looked at
#: until the calibration method they are scored against was final: each set is summarised apart.
HELD_OUT = tuple(f"h200_heldout{n}" for n in ("", 2, 3, 4, 5, 6, 7))


def captures(bases: list[Path] | None = None) -> list[Path]:
    """Every run folder with a timeline under ``bases`` (default: every committed one — fixtures,
    examples, the accuracy matrix); a run folder itself names just that capture."""
    dirs = []
    for base in bases or [ROOT / "tests" / "fixtures", ROOT / "examples"]:
        for m in sorted(base.resolve().rglob("manifest.json")):
            d = m.parent
            if any(d.glob("timeline.sqlite*")) or any(d.glob("trace.json")):
                dirs.append(d)
    return dirs


def _name(d: Path) -> str:
    return str(d.relative_to(ROOT)) if d.is_relative_to(ROOT) else str(d)


def analyse(run_dir: Path, calibration: str | None) -> dict[str, Any] | None:
    """Prediction, comparison rows and bubble ratios of one capture (None when unusable)."""
    from rooflens.analysis.compare import compare
    from rooflens.analysis.runs import chosen_run_of
    from rooflens.errors import RooflensError
    from rooflens.pipeline import analyse_inputs
    from rooflens.settings import read_manifest

    try:
        inp = analyse_inputs([run_dir], {"calibration": calibration}, None, None)
    except RooflensError as exc:
        print(f"skip {_name(run_dir)}: {exc}", file=sys.stderr)
        return None
    pred = inp["prediction"]
    if not pred or not inp["timeline"]:
        return None
    if calibration and pred.get("calibration"):
        from rooflens.hardware import lookup
        from rooflens.hardware.calibration import load

        if lookup(load(calibration).gpu_name).key != inp["gpu"].get("spec_key"):
            return None  # a calibration is for its own GPU only
    comp = compare(pred, inp["timeline"], inp["kernels"], inp["measured"], inp["gpu"])
    graph = bool(read_manifest(run_dir).get("settings", {}).get("cuda_graph"))
    chosen = chosen_run_of(inp["timeline"])
    timeline = (pred.get("run_timeline") or {}).get("cuda_graph" if graph else "eager") or {}
    return {
        "rows": comp["operators"],
        "graph": graph,
        "calibrated": pred.get("calibration") is not None,
        "bubble_measured": chosen.get("bubble_ratio") if chosen else None,
        "bubble_predicted": timeline.get("bubble_ratio"),
        "window_measured": chosen.get("window_s") if chosen else None,
        "window_predicted": timeline.get("window_s"),
        "host_measured": chosen.get("range_duration_s") if chosen else None,
        "host_predicted": timeline.get("host_time_s"),
        "bubble_range": timeline.get("bubble_ratio_range"),
        "bubble_at_run_host": (timeline.get("at_run_host") or {}).get("bubble_ratio"),
        "bubble_probed": (timeline.get("at_probed_host") or {}).get("bubble_ratio"),
        "probe_scale": (timeline.get("at_probed_host") or {}).get("host_scale"),
    }


def _err(pred: float | None, meas: float | None) -> float | None:
    if pred is None or not meas:
        return None
    return abs(pred / meas - 1.0)


def _stats(xs: list[float]) -> str:
    if not xs:
        return f"{'-':>7} {'-':>7}"
    a = np.asarray(xs) * 100
    return f"{np.median(a):6.1f}% {np.percentile(a, 90):6.1f}%"


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dirs", nargs="*", type=Path, help="run folders or folders holding them")
    ap.add_argument("--calibration", default=None)
    ap.add_argument("--per-capture", action="store_true", help="also one line per capture")
    a = ap.parse_args(argv)
    found = captures(a.dirs or None)
    held = {name: [d for d in found if name in d.parts] for name in HELD_OUT}
    groups = [("development captures", [d for d in found if not set(HELD_OUT) & set(d.parts)])]
    groups += [(f"held-out captures ({name})", ds) for name, ds in held.items() if ds]
    for title, dirs in groups:
        if len(groups) > 1:
            print(f"== {title}")
        summarise(dirs, a.calibration, a.per_capture)
        print()


def summarise(dirs: list[Path], calibration: str | None, per_capture: bool) -> None:
    """Print the class, phase and bubble tables over ``dirs``."""
    errs: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    bubbles = []
    for d in dirs:
        res = analyse(d, calibration)
        if res is None or not res["calibrated"]:
            continue
        phase_sum: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0, 0.0])
        for r in res["rows"]:
            meas = r["measured_time_s"]
            if not meas:
                continue
            cls = CLASSES.get(r["name"], "other")
            for kind, key in (("ideal", "predicted_time_s"), ("attainable", "attainable_time_s")):
                e = _err(r[key], meas)
                if e is not None:
                    errs[cls][kind].append(e)
            if r["attainable_time_s"] is not None:  # the direction: < 0 predicted too fast
                errs[cls]["signed"].append(r["attainable_time_s"] / meas - 1.0)
            acc = phase_sum[r["phase"]]
            acc[0] += r["predicted_time_s"]
            acc[1] += r["attainable_time_s"] or 0.0
            acc[2] += meas
        for phase, (ideal, att, meas) in phase_sum.items():
            errs[f"phase:{phase}"]["ideal"].append(abs(ideal / meas - 1))
            errs[f"phase:{phase}"]["attainable"].append(abs(att / meas - 1))
            errs[f"phase:{phase}"]["signed"].append(att / meas - 1)
            if per_capture:
                print(f"{_name(d)} {phase}: measured {meas * 1e6:.0f} us, ideal "
                      f"{ideal / meas - 1:+.0%}, attainable {att / meas - 1:+.0%}")  # fmt: skip
        bubbles.append((d, res))
    print(f"{'class':<22} {'n':>4}  {'ideal median / p90':>18}  {'attainable median / p90':>23}"
          f"  {'signed median':>13}")  # fmt: skip
    for cls in [*ORDER, "phase:prefill", "phase:decode"]:
        e = errs.get(cls)
        if e:
            n = len(e["attainable"])
            signed = f"{np.median(e['signed']) * 100:+.1f}%" if e["signed"] else "-"
            print(f"{cls:<22} {n:>4}  {_stats(e['ideal']):>18}  {_stats(e['attainable']):>23}"
                  f"  {signed:>13}")  # fmt: skip
    print("\nbubble ratio of the chosen run, predicted vs measured: at the calibrated host costs "
          "(in range: inside the range over the calibration's host processes), at the host speed "
          "the workload's probe measured just before the run (captures with a probe), and at "
          "the run's own host speed; host: the run's NVTX range")  # fmt: skip
    for mode in (False, True):
        diffs, at_run, inside, host, probed, probed_own = [], [], [], [], [], []
        for d, res in bubbles:
            bp, bm = res["bubble_predicted"], res["bubble_measured"]
            if res["graph"] != mode or bm is None or bp is None:
                continue
            diffs.append(abs(bp - bm))
            lo, hi = res["bubble_range"] or (bp, bp)
            inside.append(lo - 0.005 <= bm <= hi + 0.005)
            if res["bubble_at_run_host"] is not None:
                at_run.append(abs(res["bubble_at_run_host"] - bm))
            if res["bubble_probed"] is not None:
                probed.append(abs(res["bubble_probed"] - bm))
                probed_own.append(abs(bp - bm))
            hp, hm = res["host_predicted"], res["host_measured"]
            if hp and hm:
                host.append(hm / hp)
            if per_capture:
                at, pb, ps = res["bubble_at_run_host"], res["bubble_probed"], res["probe_scale"]
                print(f"  {_name(d)}: predicted {bp:.1%} ({lo:.1%}-{hi:.1%})"
                      + (f", at the probed host ({ps:.2f}x) {pb:.1%}" if pb is not None else "")
                      + f", measured {bm:.1%}"
                      + (f", at the run's host speed {at:.1%}" if at is not None else "")
                      + (f"; host predicted {hp * 1e3:.2f} ms, range {hm * 1e3:.2f} ms"
                         if hp and hm else ""))  # fmt: skip
        if diffs:
            label = "cuda graph" if mode else "eager"
            print(f"{label:<11} n={len(diffs):<3} |Δ| median {np.median(diffs) * 100:.1f} points, "
                  f"max {np.max(diffs) * 100:.1f}; in range {sum(inside)}/{len(inside)}"
                  + (f"; at the probed host speed (n={len(probed)}) |Δ| median "
                     f"{np.median(probed) * 100:.1f} points, max {np.max(probed) * 100:.1f} "
                     f"(without the probe: median {np.median(probed_own) * 100:.1f}, max "
                     f"{np.max(probed_own) * 100:.1f})" if probed else "")
                  + (f"; at the run's host speed |Δ| median {np.median(at_run) * 100:.1f} "
                     f"points, max {np.max(at_run) * 100:.1f}" if at_run else "")
                  + (f"; run range / predicted host time: median {np.median(host):.2f}x, "
                     f"{min(host):.2f}-{max(host):.2f}x" if host else ""))  # fmt: skip


if __name__ == "__main__":
    main()
