"""Pure intensity transforms: VOI windowing, rescaling to [0, 1], MONOCHROME1 inversion.

Each takes and returns numpy arrays and knows nothing of files or torch, so property tests
can hold them to the standard's definitions (PS3.3 §C.11.2.1.2 for windowing) and the
display pipeline (`qms.models.display`) runs without torch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import Enum

import numpy as np
import numpy.typing as npt

from qms.models.errors import InputError

__all__ = ["FloatArray", "VoiFunction", "Window", "invert", "rescale_to_unit", "window"]

FloatArray = npt.NDArray[np.float32]


class VoiFunction(str, Enum):
    """VOI LUT Function (0028,1056), PS3.3 §C.11.2.1.3."""

    LINEAR = "LINEAR"
    LINEAR_EXACT = "LINEAR_EXACT"
    SIGMOID = "SIGMOID"


@dataclass(frozen=True)
class Window:
    """A Window Center (0028,1050) / Window Width (0028,1051) pair and its function."""

    center: float
    width: float
    function: VoiFunction = VoiFunction.LINEAR

    def __post_init__(self) -> None:
        # §C.11.2.1.2.1: width >= 1 for LINEAR; > 0 for LINEAR_EXACT and SIGMOID.
        minimum_ok = self.width >= 1 if self.function is VoiFunction.LINEAR else self.width > 0
        if not (math.isfinite(self.center) and math.isfinite(self.width) and minimum_ok):
            raise InputError(f"window centre {self.center} / width {self.width} is not valid for {self.function.value}",
                             where="(0028,1050)/(0028,1051)",
                             hint="LINEAR needs width >= 1; LINEAR_EXACT and SIGMOID need width > 0")


def window(values: npt.NDArray[np.floating] | npt.NDArray[np.integer], w: Window) -> FloatArray:
    """Map modality values to [0, 1] through a VOI window, exactly as PS3.3 §C.11.2.1.2 defines it."""
    x = np.asarray(values, dtype=np.float64)
    c, wd = w.center, w.width
    if w.function is VoiFunction.LINEAR:
        y = (x - (c - 0.5)) / (wd - 1) + 0.5 if wd > 1 else (x > c - 0.5).astype(np.float64)
    elif w.function is VoiFunction.LINEAR_EXACT:
        y = (x - c) / wd + 0.5
    else:
        y = 1.0 / (1.0 + np.exp(np.clip(-4.0 * (x - c) / wd, -700.0, 700.0)))
    return np.clip(y, 0.0, 1.0).astype(np.float32)


def rescale_to_unit(values: npt.NDArray[np.floating] | npt.NDArray[np.integer], low: float, high: float) -> FloatArray:
    """Map [low, high] linearly onto [0, 1], clipping; a flat range maps to 0."""
    x = np.asarray(values, dtype=np.float64)
    if not high > low:
        return np.zeros(x.shape, dtype=np.float32)
    return np.clip((x - low) / (high - low), 0.0, 1.0).astype(np.float32)


def invert(unit: FloatArray) -> FloatArray:
    """MONOCHROME1 (PS3.3 §C.7.6.3.1.2): the minimum value is white, so display is 1 - value."""
    return (1.0 - unit).astype(np.float32)
