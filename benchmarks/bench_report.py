"""How long assembling and rendering a report takes, by kernel count (prints a table).

The synthetic one-layer report of tests/report/synthetic.py (32 kernels) is repeated to
n kernels (a long decode capture lists thousands).  Timed: build_report (comparison +
findings + self-check) and each renderer (Markdown zh, HTML with inline SVG, JSON).
Run: ``python benchmarks/bench_report.py``.
"""

from __future__ import annotations

import copy
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from report.synthetic import synthetic_parts  # noqa: E402
from rooflens.analysis.assemble import build_report  # noqa: E402
from rooflens.report import RENDERERS  # noqa: E402


def scaled_parts(n: int) -> dict[str, Any]:
    """The synthetic parts with the chosen run's kernels repeated to ``n`` (times shifted)."""
    parts = synthetic_parts()
    tl, ncu = parts["timeline"], parts["kernels"]
    base_tl, base_ncu = tl["kernels"], ncu
    span = base_tl[-1]["start_s"] + base_tl[-1]["duration_s"] - base_tl[0]["start_s"] + 15e-6
    kernels, ncus = [], []
    for i in range(n):
        rep, j = divmod(i, len(base_tl))
        k = copy.deepcopy(base_tl[j])
        k.update(index=i, start_s=k["start_s"] + rep * span, share=k["share"] * len(base_tl) / n)
        kernels.append(k)
        m = copy.deepcopy(base_ncu[j])
        m["index"] = i
        ncus.append(m)
    reps = n / len(base_tl)
    run = dict(tl["runs"][-1])
    for key in ("range_duration_s", "kernel_time_s", "gpu_busy_s", "window_s", "host_bound_gap_s"):
        run[key] *= reps
    run["kernel_count"] = n
    parts["timeline"] = {**tl, "runs": [tl["runs"][0], run], "kernels": kernels}
    parts["kernels"] = ncus
    return parts


def best_of(fn: Any, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    print(f"{'kernels':>8} {'build':>9} {'md zh':>9} {'html':>9} {'json':>9} {'html size':>10}")
    for n in (32, 320, 3200):
        parts = scaled_parts(n)
        doc = build_report(**parts)
        t_build = best_of(lambda parts=parts: build_report(**parts))
        t_md = best_of(lambda doc=doc: RENDERERS["md"].render(doc, "zh"))
        t_html = best_of(lambda doc=doc: RENDERERS["html"].render(doc, "en"))
        t_json = best_of(lambda doc=doc: RENDERERS["json"].render(doc, "en"))
        size = len(RENDERERS["html"].render(doc, "en").encode())
        print(f"{n:>8} {t_build * 1e3:>7.1f}ms {t_md * 1e3:>7.1f}ms {t_html * 1e3:>7.1f}ms "
              f"{t_json * 1e3:>7.1f}ms {size / 1e6:>8.2f}MB")  # fmt: skip


if __name__ == "__main__":
    main()
