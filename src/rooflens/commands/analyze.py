"""`rooflens analyze FILE...`: read one timeline and/or one NCU source, print the overview.

Parses arguments, calls the readers and analyses, and prints Rich tables (or, with
``--json``, the report.json subset it knows: ``gpu``, ``timeline``, ``kernels``, ``measured``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import orjson
import typer
from rich.console import Console
from rich.table import Table

from rooflens.units import fmt_bandwidth, fmt_bytes, fmt_duration, fmt_flops_rate, fmt_pct, sig3

MAX_RUN_ROWS = 40  # a long session has thousands of runs: the table shows the first and last ones
MAX_KERNEL_ROWS = 2000


def _elide(rows: list[dict[str, Any]], most: int) -> list[dict[str, Any] | None]:
    """``rows`` when short; else the first few, ``None`` (a "… more" marker) and the last ones."""
    if len(rows) <= most:
        return list(rows)
    head = most // 4
    return [*rows[:head], None, *rows[len(rows) - (most - head) :]]


def _clip(name: str, width: int = 80) -> str:
    """A name shortened for a table cell (the JSON keeps it whole)."""
    return name if len(name) <= width else name[: width - 1] + "…"


def _n(x: float | None, fmt: Any = sig3) -> str:
    return "n/a" if x is None else str(fmt(x))


def _table(title: str) -> Table:
    """A table that fits 80 columns: no vertical rules; numbers never wrap or get cut (their
    columns are ``no_wrap``), names fold onto more lines instead."""
    from rich import box

    return Table(
        title=title, box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False, collapse_padding=True
    )


# Text columns that get room first (a kernel name folds onto lines of at least this width).
_MIN_WIDTH = {"run": 8, "kernel": 16, "findings": 20}


def _columns(t: Table, cols: tuple[str, ...], text: tuple[str, ...]) -> None:
    """Number columns right-aligned and never cut; ``text`` columns left-aligned and folded."""
    for col in cols:
        if col in text:
            t.add_column(col, overflow="fold", min_width=_MIN_WIDTH.get(col))
        else:
            t.add_column(col, justify="right", no_wrap=True)


def _runs_table(tl: dict[str, Any]) -> Table:
    t = _table(
        f"Runs ({tl['source']}: {tl['path']}); chosen: {tl['chosen_run']}; ×n: NVTX instances; "
        "bubble / inter: bubble ratio of the window / between kernels; gaps: host-bound / other"
    )
    cols = ("run", "range", "kern.", "Σ kern.", "busy", "bubble", "inter", "host", "other")
    _columns(t, cols, ("run",))
    for r in [tl["overview"], *_elide(tl["runs"], MAX_RUN_ROWS)]:
        if r is None:
            t.add_row(f"… {len(tl['runs']) - MAX_RUN_ROWS} more runs (all in --json)", *[""] * 8)
            continue
        name = r["name"] + (f" ×{r['instances']}" if r["instances"] != 1 else "")
        t.add_row(name, fmt_duration(r["range_duration_s"]), str(r["kernel_count"]),
                  fmt_duration(r["kernel_time_s"]), fmt_duration(r["gpu_busy_s"]), _n(r["bubble_ratio"], fmt_pct),
                  _n(r["inter_kernel_bubble_ratio"], fmt_pct), fmt_duration(r["host_bound_gap_s"]),
                  fmt_duration(r["other_gap_s"]))  # fmt: skip
    return t


def _kernels_table(tl: dict[str, Any]) -> Table:
    # Kernel numbers count from 1 (#1 = the first kernel of the run), as in every report.
    t = _table(f"Kernels of {tl['chosen_run']} (launch order, #1 first)")
    _columns(t, ("#", "kernel", "duration", "share", "grid/block", "operator", "phase"),
             ("kernel", "grid/block", "operator", "phase"))  # fmt: skip
    for k in _elide(tl["kernels"], MAX_KERNEL_ROWS):
        if k is None:
            t.add_row(
                "…",
                f"{len(tl['kernels']) - MAX_KERNEL_ROWS} more kernels (all in --json)",
                *[""] * 5,
            )
            continue
        t.add_row(str(k["index"] + 1), _clip(k["short_name"]), fmt_duration(k["duration_s"]), fmt_pct(k["share"]),
                  "×".join(map(str, k["grid"])) + " " + "×".join(map(str, k["block"])), k["operator"] or "",
                  k["phase"] or "")  # fmt: skip
    return t


def _number(k: dict[str, Any]) -> str:
    """An NCU kernel's 1-based number: its timeline kernel's, else its NCU position."""
    i = k.get("timeline_index")
    return str((k["index"] if i is None else i) + 1)


def _ncu_tables(kernels: list[dict[str, Any]]) -> list[Table]:
    """NCU per kernel in two tables (roofline figures; counters and findings), each < 80 columns."""
    roof = _table("NCU per kernel: roofline figures")
    _columns(roof, ("#", "kernel", "duration", "FLOP/s", "DRAM", "FLOP/B", "bound", "roof"),
             ("kernel", "bound"))  # fmt: skip
    counters = _table("NCU per kernel: counters (%) and findings")
    _columns(counters, ("#", "SM", "mem", "L1", "L2", "occ.", "regs", "findings"), ("findings",))
    for k in kernels:
        found = "; ".join(f"{f['rule']} ({f['severity']})" for f in k["findings"])
        occ = f"{_n(k['achieved_occupancy_pct'])}/{_n(k['theoretical_occupancy_pct'])}"
        roof.add_row(_number(k), _clip(k["short_name"]), fmt_duration(k["duration_s"]),
                     _n(k["achieved_flops_per_s"], fmt_flops_rate), _n(k["dram_bandwidth_bps"], fmt_bandwidth),
                     _n(k["intensity"]), k["bound"] or "n/a", _n(k["roof_fraction"], fmt_pct))  # fmt: skip
        counters.add_row(_number(k), _n(k["sm_throughput_pct"]), _n(k["memory_throughput_pct"]),
                         _n(k["l1_hit_pct"]), _n(k["l2_hit_pct"]), occ, _n(k["registers_per_thread"]),
                         found)  # fmt: skip
    return [roof, counters]


def _measured_line(m: dict[str, Any]) -> str:
    return (
        f"Measured: SM efficiency {_n(m['sm_efficiency_pct'])}%, bandwidth {_n(m['achieved_bandwidth_bps'], fmt_bandwidth)}, "
        f"intensity {_n(m['intensity'])} FLOP/B, compute {_n(m['achieved_flops_per_s'], fmt_flops_rate)}, "
        f"bound {m['bound'] or 'n/a'}; utilisation: compute {_n(m['compute_utilization'], fmt_pct)}, "
        f"memory {_n(m['memory_utilization'], fmt_pct)}; Σ {fmt_duration(m['kernel_time_s'])}, "
        f"{_n(m['flops'])} FLOP, {_n(m['dram_bytes'], fmt_bytes)}"
    )


def render(doc: dict[str, Any], console: Console) -> None:
    """Print the analysis as Rich tables."""
    g = doc["gpu"]
    console.print(f"GPU: {g['detected_name'] or 'unknown'} → {g['spec_key'] or 'no spec'}")
    for w in [g["mismatch_warning"], *((doc["timeline"] or {}).get("warnings") or [])]:
        if w:
            console.print(f"warning: {w}")
    if doc["timeline"]:
        console.print(_runs_table(doc["timeline"]))
        console.print(_kernels_table(doc["timeline"]))
    if doc["kernels"] is not None:
        for table in _ncu_tables(doc["kernels"]):
            console.print(table)
        console.print(_measured_line(doc["measured"]))


_FILES_HELP = "One timeline (nsys .sqlite/.nsys-rep, PyTorch profiler .json) and/or one NCU source (.ncu-rep, raw CSV)."
_RUN_HELP = (
    "NVTX range name or regex of the run to analyse (default: the last Run[j] / Layer[i]#Run[j])."
)


def register(app: typer.Typer) -> None:
    """Attach the `analyze` verb to the CLI app."""

    @app.command("analyze")
    def analyze(
        files: Annotated[list[Path], typer.Argument(help=_FILES_HELP)],
        run: Annotated[str | None, typer.Option("--run", help=_RUN_HELP)] = None,
        hardware: Annotated[
            str | None,
            typer.Option("--hardware", help="GPU spec key (default: detected from the trace)."),
        ] = None,
        as_json: Annotated[
            bool, typer.Option("--json", help="Print the report.json subset instead of tables.")
        ] = False,
    ) -> None:
        """Timeline overview (runs, bubbles, kernels) and, with NCU data, per-kernel roofline figures."""
        from rooflens.pipeline import measure

        doc = measure(files, run, hardware)
        for warning in doc["reader_warnings"]:  # on stderr, so --json output stays clean
            typer.echo(f"rooflens: warning: {warning}", err=True)
        if as_json:
            typer.echo(
                orjson.dumps(doc, option=orjson.OPT_INDENT_2 | orjson.OPT_SERIALIZE_NUMPY).decode()
            )
        else:
            # The terminal's width (80 when piped): every table fits 80 columns.
            render(doc, Console(markup=False, highlight=False))
