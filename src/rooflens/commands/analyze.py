"""`rooflens analyze` (not yet implemented)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Attach the `analyze` verb to the CLI app."""
