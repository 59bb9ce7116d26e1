"""Where the stages meet — and the Python API (``rooflens.predict``, ``rooflens.analyze``,
``rooflens.load_report``).

Read top to bottom, one report is::

    inputs (run folder or profile files) ──► settings (manifest + your overrides)
        ──► traces.* readers ──► analysis.timeline / analysis.kernels      (measure)
        ──► model + hardware + predict                                      (predict)
        ──► analysis.assemble.build_report: compare + findings + self-check   (compare)
        ──► Report (report.json document) ──► report.* renderers            (render)

The commands (``rooflens report``, ``analyze``, ``diff``) parse options and call these
functions; notebooks call them directly::

    import rooflens
    rep = rooflens.analyze("tests/fixtures/h200_llama3_8b_decode16_eager", model="llama-3-8b")
    for row in rep.operators:
        print(row.name, row.phase, row.predicted_time_s, row.measured_time_s)
    rep.to_pandas()        # a DataFrame of the operator rows, when pandas is installed
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from rooflens.errors import InputError, RooflensError


@dataclass(frozen=True)
class OperatorRow:
    """One row of the per-operator comparison (report.json ``comparison.operators[]``), SI units."""

    name: str
    phase: str
    predicted_time_s: float | None
    measured_time_s: float | None
    predicted_flops: float | None
    predicted_bytes: float | None
    measured_flops: float | None
    measured_bytes: float | None
    kernel_count: int
    ratio: float | None
    roof_fraction: float | None

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> OperatorRow:
        values: dict[str, Any] = {f.name: d.get(f.name) for f in fields(cls)}
        values["kernel_count"] = int(d.get("kernel_count") or 0)
        return cls(**values)


@dataclass(frozen=True)
class Report:
    """A report document (docs/report-json.md) with typed views of its most used parts.

    ``doc`` is exactly what report.json holds and what every renderer reads.
    """

    doc: dict[str, Any]

    @property
    def operators(self) -> list[OperatorRow]:
        """Predicted vs measured per operator and phase (empty without a prediction)."""
        rows = (self.doc.get("comparison") or {}).get("operators") or []
        return [OperatorRow.from_dict(r) for r in rows]

    @property
    def findings(self) -> list[dict[str, Any]]:
        """Ranked findings (rule, severity, message, time at stake, suggestion)."""
        return list((self.doc.get("comparison") or {}).get("findings") or [])

    @property
    def chosen_run(self) -> dict[str, Any]:
        """The chosen run's timeline figures (range duration, busy, bubble ratio …), {} without one."""
        from rooflens.analysis.diff import chosen_run

        return chosen_run(self.doc)

    def to_dict(self) -> dict[str, Any]:
        return self.doc

    def to_pandas(self) -> Any:
        """The operator rows as a pandas DataFrame (pandas is optional: an error says how to get it)."""
        try:
            import pandas as pd
        except ImportError:
            raise RooflensError("Report.to_pandas needs pandas: pip install pandas") from None
        return pd.DataFrame([r.__dict__ for r in self.operators])


def predict(
    model: str,
    hardware: str = "H100",
    *,
    precision: str = "W16A16KV16",
    batch: int = 1,
    input_len: int = 128,
    output_len: int = 1,
    layers: int | None = None,
    tp: int = 1,
) -> Any:
    """Roofline prediction (:class:`rooflens.predict.Prediction`) of a preset or config.json path."""
    from rooflens.hardware import lookup
    from rooflens.model import load_architecture
    from rooflens.predict import Precision, Workload
    from rooflens.predict import predict as _predict

    arch = load_architecture(model)
    workload = Workload(
        batch, input_len, output_len, Precision.parse(precision), layers=layers, tp=tp
    )
    return _predict(arch, lookup(hardware), workload)


def analyze(
    inputs: str | Path | Sequence[str | Path],
    *,
    model: str | None = None,
    hardware: str | None = None,
    precision: str | None = None,
    batch: int | None = None,
    input_len: int | None = None,
    output_len: int | None = None,
    layers: int | None = None,
    run: str | None = None,
) -> Report:
    """The integrated report of a run folder or profile files — the numbers ``rooflens report`` writes.

    Settings not given come from the run folder's manifest (as for ``rooflens report``).
    """
    from rooflens.analysis.assemble import build_report
    from rooflens.commands.report import analyse_inputs

    paths = [Path(inputs)] if isinstance(inputs, str | Path) else [Path(p) for p in inputs]
    if not paths:
        raise RooflensError("analyze: give a run folder or profile files")
    for p in paths:
        if not p.exists():
            raise InputError(p, "no such file or folder")
    overrides = {"model": model, "batch": batch, "input_len": input_len,
                 "output_len": output_len, "layers": layers, "precision": precision}  # fmt: skip
    return Report(build_report(**analyse_inputs(paths, overrides, hardware, run)))


def load_report(path: str | Path) -> Report:
    """A saved report.json (older schema versions load with defaults for what they lack)."""
    from rooflens.analysis.assemble import upgrade
    from rooflens.report.document import load_report as _load

    return Report(upgrade(_load(path)))


def report_of(path: str | Path) -> Report:
    """A report from a report.json file, or built from a run folder or one profile file."""
    p = Path(path)
    if p.is_file() and p.suffix == ".json":
        try:
            return load_report(p)
        except InputError:
            pass  # not a report.json: perhaps a Kineto trace; analyse it below
    return analyze(p)
