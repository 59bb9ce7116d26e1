"""`rooflens hardware` (not yet implemented)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Attach the `hardware` verb to the CLI app."""
