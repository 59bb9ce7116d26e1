"""Parse + timeline-analysis speed and peak memory on large replicas of the real H200 capture.

    python benchmarks/bench_traces.py                       # 1M and 10M kernels (SQLite), 1M (Kineto)
    python benchmarks/bench_traces.py --sqlite 1e6 --kineto 1e5 1e6 --hta 1e5 1e6
    python benchmarks/bench_traces.py --sqlite --hta --kineto 1e6 --python-reader 1e5

Kineto JSON is read by the native scanner (C extension built at install) on all available
CPUs; ``--python-reader`` sizes are also read by the pure-Python fallback, for comparison.

Replicas are built by ``replicate.py`` from ``tests/fixtures/h200_llama3_8b_prefill`` (its
steady state, repeated: a long session of many generations).  Every measurement runs in a
fresh process; peak memory is that process's maximum RSS plus its children's (the nsys
reader forks one helper for large files).  HolisticTraceAnalysis (PyPI ``HolisticTraceAnalysis``)
parses the same Kineto file and computes its idle-time breakdown (host wait vs kernel wait,
the counterpart of rooflens's gap split); the ratio is HTA time / rooflens time.
Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
FIXTURE = HERE.parent / "tests" / "fixtures" / "h200_llama3_8b_prefill"
sys.path.insert(0, str(HERE))

from replicate import build_kineto, build_sqlite  # noqa: E402

KERNELS_PER_COPY = 56  # kernels of Run[1] + Run[2] in the fixture's steady-state window


def _peak_mb() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return (own + kids) / 1024


def measure_rooflens(path: str) -> dict[str, float]:
    """Load + analyse one timeline (run inside a fresh process)."""
    t0 = time.perf_counter()
    from rooflens.analysis.timeline import analyze_timeline
    from rooflens.traces import kineto_scan, load_timeline

    t1 = time.perf_counter()
    trace = load_timeline(path)
    t2 = time.perf_counter()
    result = analyze_timeline(trace)
    t3 = time.perf_counter()
    return {"import_s": t1 - t0, "parse_s": t2 - t1, "analyze_s": t3 - t2, "total_s": t3 - t1,
            "kernels": len(trace.kernels), "runs": len(result.runs), "peak_mb": _peak_mb(),
            "reader": "native" if kineto_scan.available() else "python",
            "threads": kineto_scan.default_threads()}  # fmt: skip


def measure_hta(path: str) -> dict[str, float]:
    """HolisticTraceAnalysis: parse the trace folder + idle-time breakdown."""
    import logging
    import warnings

    warnings.filterwarnings("ignore")
    logging.disable(logging.CRITICAL)
    t0 = time.perf_counter()
    from hta.trace_analysis import TraceAnalysis

    t1 = time.perf_counter()
    analysis = TraceAnalysis(trace_dir=str(Path(path).parent))
    t2 = time.perf_counter()
    analysis.get_idle_time_breakdown(visualize=False)
    t3 = time.perf_counter()
    return {
        "import_s": t1 - t0,
        "parse_s": t2 - t1,
        "analyze_s": t3 - t2,
        "total_s": t3 - t1,
        "peak_mb": _peak_mb(),
    }


def run_isolated(
    tool: str, path: Path, timeout_s: float, mem_gb: float, env: dict[str, str] | None = None
) -> dict[str, float] | str:
    """Measure in a fresh interpreter with an address-space limit; a failure is returned as text."""
    code = (
        f"import resource, json, sys; sys.path.insert(0, {str(HERE)!r});"
        f"resource.setrlimit(resource.RLIMIT_AS, ({int(mem_gb * 2**30)}, {int(mem_gb * 2**30)}));"
        f"import bench_traces as b; print(json.dumps(b.measure_{tool}({str(path)!r})))"
    )
    try:
        proc = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, timeout=timeout_s,
            env={**os.environ, **(env or {})},
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        return f"timeout after {timeout_s:.0f} s"
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["?"])[-1]
        return f"failed (exit {proc.returncode}): {last[:120]}"
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _row(label: str, size_mb: float, res: dict[str, float] | str) -> str:
    if isinstance(res, str):
        return f"| {label} | {size_mb:,.0f} | {res} | | | |"
    return (f"| {label} | {size_mb:,.0f} | {res['parse_s']:.2f} | {res['analyze_s']:.2f} | "
            f"{res['total_s']:.2f} | {res['peak_mb']:,.0f} |")  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "--sqlite", type=float, nargs="*", default=[1e6, 1e7], help="kernel counts (nsys SQLite)"
    )
    ap.add_argument(
        "--kineto", type=float, nargs="*", default=[1e6], help="kernel counts (Kineto JSON)"
    )
    ap.add_argument(
        "--hta", type=float, nargs="*", default=[1e5, 1e6], help="Kineto sizes HTA also parses"
    )
    ap.add_argument(
        "--python-reader", type=float, nargs="*", default=[1e5],
        help="Kineto sizes also read by rooflens's pure-Python fallback",
    )  # fmt: skip
    ap.add_argument(
        "--workdir", type=Path, default=None, help="where replicas go (default: a temp dir)"
    )
    ap.add_argument("--timeout", type=float, default=1800.0, help="per measurement, seconds")
    ap.add_argument(
        "--mem-gb", type=float, default=16.0, help="address-space limit per measurement"
    )
    args = ap.parse_args()
    work = args.workdir or Path(tempfile.mkdtemp(prefix="rooflens-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    print("| input | file MB | parse s | analysis s | total s | peak MB |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for n in args.sqlite:
        out = work / f"replica_{int(n)}.sqlite"
        kernels = build_sqlite(
            FIXTURE / "timeline.sqlite", out, max(1, round(n / KERNELS_PER_COPY))
        )
        res = run_isolated("rooflens", out, args.timeout, args.mem_gb)
        print(
            _row(f"rooflens, nsys SQLite, {kernels:,} kernels", out.stat().st_size / 1e6, res),
            flush=True,
        )
        out.unlink()
    for n in sorted(set(args.kineto) | set(args.hta) | set(args.python_reader)):
        folder = work / f"kineto_{int(n)}"
        folder.mkdir(exist_ok=True)
        out = folder / "trace.json"
        kernels = build_kineto(FIXTURE / "trace.json", out, max(1, round(n / KERNELS_PER_COPY)))
        size = out.stat().st_size / 1e6
        ours = run_isolated("rooflens", out, args.timeout, args.mem_gb)
        how = "" if isinstance(ours, str) else f" ({ours['reader']}, {ours['threads']} threads)"
        print(_row(f"rooflens{how}, Kineto JSON, {kernels:,} kernels", size, ours), flush=True)
        if n in args.python_reader:
            slow = run_isolated(
                "rooflens", out, args.timeout, args.mem_gb, {"ROOFLENS_NATIVE": "0"}
            )
            print(_row("rooflens (pure-Python reader), same file", size, slow), flush=True)
        if n in args.hta:
            theirs = run_isolated("hta", out, args.timeout, args.mem_gb)
            print(
                _row("HTA 0.5 (parse + idle-time breakdown), same file", size, theirs), flush=True
            )
            if not isinstance(ours, str) and not isinstance(theirs, str):
                print(
                    f"| HTA / rooflens time ratio, {kernels:,} kernels | | | | {theirs['total_s'] / ours['total_s']:.1f}x | |"
                )
        out.unlink()


if __name__ == "__main__":
    main()
