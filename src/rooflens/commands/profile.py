"""`rooflens profile` (not yet implemented)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Attach the `profile` verb to the CLI app."""
