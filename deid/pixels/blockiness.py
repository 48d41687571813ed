"""Whether a frame's stored values went through JPEG without saying so: the 8 x 8 block grid shows.

An archive may hand back JPEG-decoded pixels stored natively and without LossyImageCompression 01.
JPEG quantises each 8 x 8 block on its own, so the steps between neighbouring pixels are larger
across a block's edge than inside it; sensor noise and anatomy have no such period. Measured on
every 8th row and column line only: this runs on every frame the shape search reads.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = ["looks_block_coded"]

_BLOCK = 8
_SAMPLE = 8
_RATIO = 1.15
"""Typical step across block edges over the typical step at the most stepped other phase: the grid shows."""


def looks_block_coded(frame: NDArray[Any]) -> bool:
    """Whether `frame` (rows, columns, samples) shows JPEG's 8 x 8 block grid, along its rows or its columns."""
    values = frame[..., 0]
    if min(values.shape) < 4 * _BLOCK:
        return False
    return _ratio(values[::_SAMPLE]) >= _RATIO or _ratio(values[:, ::_SAMPLE].T) >= _RATIO


def _ratio(lines: NDArray[Any]) -> float:
    """The median over block edges (columns 8k-1 to 8k) of the mean absolute step down each column, over the
    largest such median of the seven other phases: a ruler or grid on a few edge columns does not move a median,
    and a pattern of any other period raises another phase as much."""
    wide = lines.shape[1] - lines.shape[1] % _BLOCK
    steps = np.abs(np.diff(lines[:, :wide].astype(np.float32), axis=1)).mean(axis=0)
    phases = [float(np.median(steps[p::_BLOCK])) for p in range(_BLOCK)]
    others = max(phases[: _BLOCK - 1])
    return phases[_BLOCK - 1] / others if others > 0 else 0.0
