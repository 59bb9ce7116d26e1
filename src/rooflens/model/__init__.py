"""Model shapes: HF ``config.json`` / bundled presets → :class:`Architecture` (no weights, no files beyond configs)."""

from __future__ import annotations

from rooflens.model.architecture import Architecture
from rooflens.model.loader import architecture_from_config, list_presets, load_architecture

__all__ = ["Architecture", "architecture_from_config", "list_presets", "load_architecture"]
