"""What inference hands a validation run: per-case probabilities per label, and the cases that failed.

A structural type: `qms.models.inference.InferenceResult` and
`qms.validation.latency.TimedPredictions` have this shape, so validation names no model class.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np
from numpy.typing import NDArray

__all__ = ["Predictions"]


class Predictions(Protocol):
    """What inference hands over (qms.models.inference.InferenceResult has this shape)."""

    @property
    def labels(self) -> tuple[str, ...]: ...
    @property
    def probabilities(self) -> NDArray[np.float64]: ...
    @property
    def failures(self) -> dict[int, str]: ...
