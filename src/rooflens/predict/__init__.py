"""Roofline prediction: ``Architecture`` + ``GPU`` + ``Workload`` → ``Prediction`` (no files)."""

from __future__ import annotations

from rooflens.predict.precision import Precision
from rooflens.predict.prediction import PHASES, Prediction, predict
from rooflens.predict.roofline import OpResult, PhaseFigures
from rooflens.predict.workload import Workload

__all__ = ["PHASES", "OpResult", "PhaseFigures", "Precision", "Prediction", "Workload", "predict"]
