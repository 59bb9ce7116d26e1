"""What a run was: its run folder's manifest and the user's overrides → settings, and the files
to read.  The first stage of the pipeline (rooflens.pipeline); no analysis, no rendering."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from rooflens.errors import InputError, RooflensError, os_problem
from rooflens.vocab import precision_for_dtype

if TYPE_CHECKING:
    from rooflens.model.architecture import Architecture

_TIMELINE_ARTIFACTS = ("nsys_sqlite", "kineto_json", "nsys_rep")


_NCU_ARTIFACTS = ("ncu_rep", "ncu_csv", "ncu_csv_base")


def read_manifest(run_dir: Path) -> dict[str, Any]:
    """The run folder's manifest.json (``{}`` when absent), its fields checked by type."""
    from rooflens.capture.rundir import check_manifest

    path = run_dir / "manifest.json"
    if not os.path.lexists(path):
        return {}
    return check_manifest(_read_json(path), path)


def _read_json(path: Path) -> Any:
    """A run folder's JSON file, parsed; one-line InputError when it is not a readable regular
    file of valid JSON."""
    if not path.is_file():
        raise InputError(path, "not a regular file")
    try:
        return orjson.loads(path.read_bytes())
    except orjson.JSONDecodeError as exc:
        raise InputError(path, f"not valid JSON ({exc})") from None
    except OSError as exc:
        raise os_problem(path, exc, "read") from None


def manifest_settings(manifest: dict[str, Any]) -> dict[str, Any]:
    """Model/workload settings of a manifest, whether nested under ``settings`` or top-level."""
    settings = dict(manifest.get("settings") or {})
    for key in (
        "model",
        "batch",
        "input_len",
        "output_len",
        "precision",
        "dtype",
        "layers",
        "command_line",
    ):
        settings.setdefault(key, manifest.get(key))
    return settings


def read_host_probe(run_dir: Path, run: str | None) -> float | None:
    """The built-in workload's host probe for ``run`` (``Run[j]``): seconds per probe layer,
    measured in its own process just before that run (``host_probe_before_run_s[j]``; captures of
    2026-12-02 probed once, before run 0: ``host_probe_layer_s``), by
    rooflens.capture.calibrate_host.host_probe.  None when the folder has no workload summary
    (a foreign program, an older capture) or no probe for that run."""
    from rooflens.capture.rundir import WORKLOAD_SUMMARY
    from rooflens.vocab import RUN_RE

    path = run_dir / WORKLOAD_SUMMARY
    if not os.path.lexists(path):
        return None
    raw = _read_json(path)
    if not isinstance(raw, dict):
        raise InputError(path, "the workload summary must be a JSON object")
    per_run, once = raw.get("host_probe_before_run_s"), raw.get("host_probe_layer_s")
    if per_run is not None and not isinstance(per_run, list):
        raise InputError(path, "host_probe_before_run_s must be a list of seconds, one per run")
    for probe in [*(per_run or []), once]:
        if probe is not None and (
            isinstance(probe, bool) or not isinstance(probe, (int, float)) or not 0 < probe < 1
        ):
            raise InputError(path, f"a host probe must be seconds in (0, 1), got {probe!r:.40}")
    m = RUN_RE.fullmatch(run or "")
    if per_run and m and int(m.group(1)) < len(per_run):
        return float(per_run[int(m.group(1))])
    return None if once is None else float(once)


def run_dir_files(run_dir: Path, manifest: dict[str, Any]) -> list[Path]:
    """The timeline and NCU files of a run folder: the manifest's artifacts that exist (first of each kind)."""
    artifacts = manifest.get("artifacts") or {}
    files: list[Path] = []
    for group in (_TIMELINE_ARTIFACTS, _NCU_ARTIFACTS):
        for key in group:
            name = artifacts.get(key)
            if name and (run_dir / name).is_file():
                if key == "ncu_rep" and not _ncu_report_available():
                    continue
                files.append(run_dir / name)
                break
    if not files:
        raise InputError(
            run_dir, "no profile found (manifest.json lists no existing nsys/Kineto/NCU artifact)"
        )
    return files


def _ncu_report_available() -> bool:
    import importlib.util

    return importlib.util.find_spec("ncu_report") is not None


def _precision_text(settings: dict[str, Any], override: str | None) -> str:
    if override:
        return override
    if settings.get("precision"):
        return str(settings["precision"])
    return precision_for_dtype(settings.get("dtype"))


def _precision_label(text: str) -> str:
    """The seed's ``W16 / A16 / KV16`` form of a precision (the text as given if it does not parse)."""
    from rooflens.predict import Precision

    try:
        return Precision.parse(text).seed_label
    except RooflensError:
        return text


_WORKLOAD_DEFAULTS = (("batch", "--batch", 1), ("input_len", "--input-len", 128),
                      ("output_len", "--output-len", 1))  # fmt: skip


def _workload_settings(settings: dict[str, Any]) -> tuple[Architecture | None, list[str]]:
    """Check the workload counts (as ``predict`` does) and load the model, before any trace is read.

    With a model, a batch or length that neither the flags nor the manifest give takes the
    ``predict`` default, and a note in the header says which values were assumed.
    """
    from rooflens.model import load_architecture
    from rooflens.predict.workload import check_count

    for key, option, _ in (*_WORKLOAD_DEFAULTS, ("layers", "--layers", None)):
        if settings.get(key) is not None:
            check_count(option, settings[key])
    if not settings.get("model"):
        return None, []
    arch = load_architecture(settings["model"])
    assumed = [(key, option, value) for key, option, value in _WORKLOAD_DEFAULTS
               if settings.get(key) is None]  # fmt: skip
    for key, _, value in assumed:
        settings[key] = value
    if not assumed:
        return arch, []
    said = ", ".join(f"{key} {value}" for key, _, value in assumed)
    flags = " / ".join(option for _, option, _ in assumed)
    return arch, [f"not given, the prediction assumes {said} (pass {flags} to set them)"]
