"""Run folders: one new folder per capture, never overwritten, described by ``manifest.json``.

The manifest records what was run (exact argv), with which tools and driver, on which GPU,
each step's outcome and the artifacts it left — but never environment variables (tokens live
there).  It is rewritten after every step, so a capture that dies half-way still says what it has.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from rooflens import __version__
from rooflens.errors import InputError, RooflensError, os_problem

MANIFEST = "manifest.json"
#: The built-in workload's own summary (rooflens.capture.workload.run_workload): wall time per
#: run, its attention backend, its host probe.
WORKLOAD_SUMMARY = "workload.json"
MANIFEST_SCHEMA = "1.0"


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-") or "run"


def new_run_dir(parent: Path, stem: str, now: _dt.datetime | None = None) -> Path:
    """Create ``parent/<stem>_<timestamp>`` (``-2``, ``-3`` … if taken) and return it.

    ``os.mkdir`` without ``exist_ok`` makes creation atomic: two captures never share a folder.
    """
    now = now or _dt.datetime.now()
    base = f"{_slug(stem)[:120]}_{now.strftime('%Y%m%d-%H%M%S')}"
    try:
        if os.path.lexists(parent) and not parent.is_dir():
            raise InputError(parent, "exists and is not a folder; choose another --runs-dir")
        parent.mkdir(parents=True, exist_ok=True)
        for i in range(1, 1000):
            path = parent / (base if i == 1 else f"{base}-{i}")
            try:
                os.mkdir(path)
                return path
            except FileExistsError:
                continue
    except OSError as exc:
        raise os_problem(parent, exc, "create a run folder in") from None
    raise RooflensError(f"{parent}: could not create a new run folder for {base}")


def claim_out_dir(path: Path) -> Path:
    """Use an explicit ``--out`` folder: it must not exist yet, or be empty (and writable)."""
    try:
        if os.path.lexists(path):
            if not path.is_dir():
                raise RooflensError(f"{path}: exists and is not a folder; choose another --out")
            if any(path.iterdir()):
                raise RooflensError(
                    f"{path}: folder exists and is not empty; rooflens never overwrites a capture"
                )
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise os_problem(path, exc, "create the run folder") from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise InputError(path, "cannot write into the run folder: permission denied")
    return path


@dataclass
class Step:
    """One capture step (nsys, export, ncu, …) and how it went."""

    name: str
    argv: list[str]
    status: str = "pending"  # pending | ok | failed | skipped
    returncode: int | None = None
    elapsed_s: float | None = None
    log: str | None = None
    message: str | None = None
    artifacts: list[str] = field(default_factory=list)


@dataclass
class Manifest:
    """What a run folder holds; saved as ``manifest.json``."""

    run_dir: str
    settings: dict[str, Any]
    steps: list[Step] = field(default_factory=list)
    artifacts: dict[str, str] = field(default_factory=dict)
    environment: dict[str, Any] = field(
        default_factory=dict
    )  # tool versions, GPU, driver; no env vars
    created_at: str = field(default_factory=lambda: _dt.datetime.now(_dt.UTC).isoformat())

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["schema_version"] = MANIFEST_SCHEMA
        d["rooflens_version"] = __version__
        d["run_dir"] = Path(self.run_dir).name
        return d

    def save(self) -> None:
        path = Path(self.run_dir) / MANIFEST
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(self.to_dict(), indent=2, ensure_ascii=False), encoding="utf-8")
        tmp.replace(path)


# Types of the manifest fields that rooflens reads back (``report RUN_DIR``); anything else in
# the file is kept but not trusted.  ``None`` is allowed for every one of them.
_SETTING_TYPES: dict[str, type] = {
    "model": str,
    "model_name": str,
    "batch": int,
    "input_len": int,
    "output_len": int,
    "layers": int,
    "runs": int,
    "precision": str,
    "dtype": str,
    "command_line": str,
    "workload": str,
}


def _type_name(value: object) -> str:
    return "null" if value is None else type(value).__name__


def check_manifest(raw: object, path: Path) -> dict[str, Any]:
    """``raw`` (a parsed manifest.json) checked field by field; one-line InputError otherwise.

    ``settings`` must be an object (settings may also sit at the top level, as in older run
    folders), each known setting of its type (integers ≥ 1 for counts, never booleans or
    floats), ``artifacts`` an object of file names, ``steps`` a list of objects.
    """

    def bad(where: str, want: str, value: object) -> InputError:
        return InputError(path, f"{where} must be {want}, got {_type_name(value)} {value!r:.60}")

    if not isinstance(raw, dict):
        raise bad("the manifest", "a JSON object", raw)
    settings = raw.get("settings")
    if settings is not None and not isinstance(settings, dict):
        raise bad("settings", "an object", settings)
    for where, source in (("settings", settings or {}), ("manifest", raw)):
        for key, want in _SETTING_TYPES.items():
            value = source.get(key)
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, want):
                raise bad(f"{where}.{key}", "text" if want is str else "an integer", value)
            if isinstance(value, int) and value < 1:
                raise bad(f"{where}.{key}", "an integer ≥ 1", value)
    artifacts = raw.get("artifacts")
    if artifacts is not None and not (
        isinstance(artifacts, dict)
        and all(
            isinstance(v, str) and v and "/" not in v and v not in (".", "..")
            for v in artifacts.values()
        )
    ):
        raise bad("artifacts", "an object of file names in the run folder", artifacts)
    steps = raw.get("steps")
    if steps is not None and not (
        isinstance(steps, list) and all(isinstance(s, dict) for s in steps)
    ):
        raise bad("steps", "a list of objects", steps)
    return raw
