"""The report.json subset that ``rooflens predict --json`` prints: header, gpu, prediction."""

from __future__ import annotations

from datetime import UTC, datetime

from rooflens import __version__
from rooflens.predict.prediction import Prediction
from rooflens.schema import SCHEMA_VERSION  # noqa: E402  (one version for every JSON document)


def header_dict(pred: Prediction, model_label: str) -> dict[str, object]:
    """The ``header`` section (no capture: ``capture_command`` is null)."""
    wl = pred.workload
    return {
        "model": model_label,
        "batch_size": wl.batch,
        "input_len": wl.input_len,
        "output_len": wl.output_len,
        "precision": wl.precision.label,
        "layers": wl.layers,
        "attention": wl.attention,
        "tp": wl.tp,
        "capture_command": None,
        "notes": list(pred.notes),
    }


def gpu_dict(pred: Prediction, detected_name: str | None = None) -> dict[str, object]:
    """The ``gpu`` section: the spec entry and the peak used for the workload's precision."""
    return {
        "spec_key": pred.gpu.key,
        "name": pred.gpu.name,
        "detected_name": detected_name,
        "peak_flops": pred.peak_flops,
        "bandwidth_bps": pred.gpu.bandwidth_bps,
        "interconnect_bps": pred.gpu.interconnect_bps,
        "memory_bytes": pred.gpu.memory_bytes,
        "mismatch_warning": None,
    }


def prediction_document(pred: Prediction, model_label: str | None = None) -> dict[str, object]:
    """schema_version, tool, generated_at, header, gpu and prediction, as in docs/report-json.md."""
    return {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "rooflens", "version": __version__},
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "header": header_dict(pred, model_label or pred.arch.name),
        "gpu": gpu_dict(pred),
        "prediction": pred.to_dict(),
    }
