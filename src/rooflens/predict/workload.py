"""What is run: batch, lengths, precision, how many layers, attention kind, tensor parallelism."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from rooflens.errors import RooflensError
from rooflens.predict.precision import Precision

AttentionKind = Literal["flash", "eager"]


@dataclass(frozen=True)
class Workload:
    """One inference configuration; validated on construction (bad values → RooflensError).

    ``output_len`` counts generated tokens: the prefill yields the first, so ``output_len − 1``
    decode steps follow.  ``layers`` = None runs every layer of the model; ``tp`` splits weights
    and heads over that many GPUs (the prediction is per GPU).
    """

    batch: int
    input_len: int
    output_len: int
    precision: Precision
    layers: int | None = None
    attention: AttentionKind = "flash"
    tp: int = 1

    def __post_init__(self) -> None:
        for name in ("batch", "input_len", "output_len", "tp"):
            _check_positive(name, getattr(self, name))
        if self.layers is not None:
            _check_positive("layers", self.layers)
        if self.attention not in ("flash", "eager"):
            raise RooflensError(f"attention must be 'flash' or 'eager', got '{self.attention}'")

    @property
    def decode_steps(self) -> int:
        """Decode steps after the prefill: ``output_len − 1``."""
        return self.output_len - 1


def _check_positive(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise RooflensError(f"{name} must be an integer ≥ 1, got {value!r}")
