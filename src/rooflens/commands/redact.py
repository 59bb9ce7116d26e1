"""``rooflens redact``: strip the environment, user and host names from an nsys SQLite export."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from rooflens.errors import InputError


def redact_command(
    files: Annotated[list[Path], typer.Argument(help="nsys SQLite exports to redact in place.")],
) -> None:
    """Redact nsys SQLite exports in place before sharing them (the .nsys-rep keeps everything)."""
    from rooflens.capture.redact import redact_nsys_sqlite

    for path in files:
        if not path.is_file():
            raise InputError(path, "no such file")
        with open(path, "rb") as fh:
            if fh.read(16) != b"SQLite format 3\x00":
                raise InputError(
                    path, "not an SQLite file (export it first: nsys export --type sqlite)"
                )
        n = redact_nsys_sqlite(path)
        typer.echo(f"{path}: {n} values redacted")


def register(app: typer.Typer) -> None:
    """Attach the ``redact`` verb to the CLI app."""
    app.command("redact")(redact_command)
