"""`rooflens report` (not yet implemented)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Attach the `report` verb to the CLI app."""
