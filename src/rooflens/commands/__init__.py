"""CLI verbs, one module each; every module exposes ``register(app)``.

Add a verb by writing ``commands/<verb>.py`` with a ``register`` function and listing it here.
"""

from __future__ import annotations

from types import ModuleType

from rooflens.commands import (
    analyze,
    calibrate,
    diff,
    hardware,
    predict,
    profile,
    redact,
    report,
    run,
)

COMMAND_MODULES: list[ModuleType] = [
    run,
    predict,
    hardware,
    analyze,
    profile,
    report,
    diff,
    redact,
    calibrate,
]
