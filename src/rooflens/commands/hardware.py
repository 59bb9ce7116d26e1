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
    from rooflens.report.console import print_gpus

    print_gpus(gpus, DTYPES)


def _show_one(name: str) -> None:
    from rooflens.hardware import lookup
    from rooflens.report.console import gpu_lines

    for line in gpu_lines(lookup(name)):
        print(line)


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
