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


# Upper bounds far beyond any real serving setup: past them a value is a typo or a corrupted
# file, and predicting it would only burn minutes and memory (a per-step decode sum, a per-layer loop).
LIMITS: dict[str, int] = {
    "batch": 1 << 20,
    "input_len": 1 << 24,
    "output_len": 1 << 22,  # the decode sum keeps per-step arrays: ~280 MB at this bound
    "layers": 100_000,
    "tp": 4096,
}


def check_count(option: str, value: object) -> int:
    """``value`` as a workload count: an integer ≥ 1 within :data:`LIMITS`, else RooflensError.

    One function for every command (``predict``, ``report``, ``profile``, ``run``), so the same
    value is accepted or refused with the same words everywhere.  ``option`` may be the flag
    (``--output-len``) or the field (``output_len``); the limit is looked up by its bare name.
    """
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise RooflensError(f"{option} must be an integer ≥ 1, got {value!r}")
    limit = LIMITS.get(option.lstrip("-").replace("-", "_"))
    if limit is not None and value > limit:
        raise RooflensError(f"{option} {value} is beyond any real workload (at most {limit})")
    return value


def _check_positive(name: str, value: object) -> None:
    check_count(name, value)
