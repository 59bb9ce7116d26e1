"""`rooflens hardware`: the GPU table (hardware/gpus.toml), or one GPU with the source of each number."""

from __future__ import annotations

import sys

import typer


def _table_all(as_json: bool) -> None:
    from rooflens.hardware import DTYPES, all_gpus

    gpus = all_gpus()
    if as_json:
        import orjson

        data = [
            {
                "key": g.key, "name": g.name, "aliases": list(g.aliases), "peak_flops": g.peak_flops,
                "bandwidth_bps": g.bandwidth_bps, "memory_bytes": g.memory_bytes, "l2_bytes": g.l2_bytes,
                "sm_count": g.sm_count, "interconnect_bps": g.interconnect_bps, "sources": g.sources,
            }
            for g in gpus
        ]  # fmt: skip
        sys.stdout.write(orjson.dumps(data, option=orjson.OPT_INDENT_2).decode() + "\n")
        return
    from rich import box
    from rich.console import Console
    from rich.table import Table

    from rooflens.units import sig3

    # Fits 80 columns (a terminal's default, and what a pipe gets): no vertical rules, short
    # headers, the units in the title; numbers are never cut (no_wrap, no ellipsis).
    table = Table(
        title="GPUs: dense tensor peaks in TFLOP/s (fp32 = CUDA cores; bf16 = fp16); "
        "DRAM TB/s and GB; L2 MB; interconnect (link) GB/s",
        box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False, collapse_padding=True,
    )  # fmt: skip
    dtypes = [d for d in DTYPES if d != "bf16"]  # bf16 peaks equal fp16 peaks on every card
    table.add_column("key", no_wrap=True, overflow="fold")
    for col in (*dtypes, "TB/s", "GB", "L2", "SMs", "link"):
        table.add_column(col, justify="right", no_wrap=True, overflow="fold")
    for g in gpus:
        peaks = [sig3(g.peak_flops[d] / 1e12) if d in g.peak_flops else "-" for d in dtypes]
        table.add_row(
            g.key, *peaks, sig3(g.bandwidth_bps / 1e12), sig3(g.memory_bytes / 1e9),
            sig3(g.l2_bytes / 2**20), str(g.sm_count), sig3(g.interconnect_bps / 1e9),
        )  # fmt: skip
    Console(width=max(80, Console().width)).print(table)


def _show_one(name: str) -> None:
    from rooflens.hardware import lookup
    from rooflens.units import fmt_bandwidth, fmt_bytes, fmt_flops_rate

    g = lookup(name)
    print(f"{g.key}: {g.name}")
    print(f"  aliases: {', '.join(g.aliases)}")
    for dtype, peak in g.peak_flops.items():
        print(f"  peak {dtype}: {fmt_flops_rate(peak)}")
    print(f"  DRAM bandwidth: {fmt_bandwidth(g.bandwidth_bps)}; memory {fmt_bytes(g.memory_bytes)}")
    print(
        f"  L2: {g.l2_bytes / 2**20:g} MiB; SMs: {g.sm_count}; interconnect {fmt_bandwidth(g.interconnect_bps)}"
    )
    for field, source in g.sources.items():
        print(f"  source of {field}: {source}")


def register(app: typer.Typer) -> None:
    """Attach the `hardware` verb to the CLI app."""

    @app.command("hardware")
    def hardware_command(
        name: str | None = typer.Argument(
            None, help="Show one GPU (key, name or alias) with sources."
        ),
        as_json: bool = typer.Option(False, "--json", help="Print the table as JSON (SI units)."),
    ) -> None:
        """List the GPU table, or one GPU with the source of every number."""
        if name:
            _show_one(name)
        else:
            _table_all(as_json)
