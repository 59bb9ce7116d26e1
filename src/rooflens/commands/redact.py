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
    from rooflens.capture.redact import redact_counts

    for path in files:
        if not path.is_file():
            raise InputError(path, "no such file" if not path.exists() else "not a regular file")
        with open(path, "rb") as fh:
            if fh.read(16) != b"SQLite format 3\x00":
                raise InputError(
                    path, "not an SQLite file (export it first: nsys export --type sqlite)"
                )
        counts = redact_counts(path)
        if not counts:
            typer.echo(f"{path}: already redacted, nothing left to redact (file not rewritten)")
            continue
        said = ", ".join(f"{n} {kind}" for kind, n in counts.items())
        typer.echo(f"{path}: redacted {said}")


def register(app: typer.Typer) -> None:
    """Attach the ``redact`` verb to the CLI app."""
    app.command("redact")(redact_command)
