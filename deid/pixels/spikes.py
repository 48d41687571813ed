"""Stored values drawn by a device, not measured: spikes in a frame's histogram, as candidate text layers.

Burned-in text is drawn after the image is formed, with one grey value: at an extreme (see `views`), or
anywhere inside the anatomy's range, where no threshold over the frame isolates it (low contrast, neither
bright nor dark on display). Measured anatomy carries noise, so its values spread over neighbouring levels;
pixels drawn with one value pile up on that level. A level holding many times the pixels of the levels
around it is a spike; the pixels at it are a layer the text search looks for strokes on (areas filled
with one value, such as a padded background or a mask, are also spikes: they are wide, not strokes, and the
search leaves them). Smooth images without noise have no spikes to speak of: neighbouring levels hold as
many pixels as any.

Antialiased glyphs reach the drawn value only in their strokes' middles: growing the layer by the
neighbours half way to it was tried, and found lines on a smooth phantom CT (pydicom's 693_J2KI) while
finding few antialiased labels; such text is still missed (see RESULTS.md).

One `np.bincount` per frame; only spikes' layers are compared pixel by pixel.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = ["spike_layers"]

_MIN_PIXELS = 20
"""Fewer pixels than this at one level cannot draw a word."""
_TIMES = 4.0
"""A spike holds this many times the pixels of the fullest of the levels around it..."""
_AROUND = 3
"""... the levels within this many steps of it on each side, itself left out."""
_MAX_SPIKES = 3
"""At most this many levels per frame (the fullest spikes): bounds the cost of an image with many."""
_COMB_BULK, _COMB_EMPTY = 0.01, 0.25
"""A histogram with more than a quarter of the levels empty between its 1st and 99th percentile is a comb."""
_MAX_RANGE = 1 << 16
"""Frames whose values span more levels than this are not counted (32-bit data)."""


def spike_layers(values: NDArray[Any]) -> list[tuple[str, NDArray[np.bool_]]]:
    """(view, pixels) of the spiked levels of one single-sample frame of integer stored values, the frame's
    own minimum and maximum left out (`views` has those)."""
    if values.dtype.kind not in "iu":
        return []
    low, high = int(values.min()), int(values.max())
    if high - low < 2 * _AROUND + 2 or high - low >= _MAX_RANGE:
        return []
    counts = np.bincount(np.subtract(values.ravel(), low, dtype=np.intp), minlength=high - low + 1)
    if _comb(counts):
        return []
    padded = np.pad(counts, _AROUND)
    fullest = np.maximum.reduce([padded[_AROUND + shift : _AROUND + shift + counts.size]
                                 for shift in (*range(-_AROUND, 0), *range(1, _AROUND + 1))])
    spiked = (counts >= _MIN_PIXELS) & (counts >= _TIMES * np.maximum(fullest, 1))
    spiked[[0, -1]] = False
    levels = np.flatnonzero(spiked)
    levels = levels[np.argsort(-counts[levels], kind="stable")][:_MAX_SPIKES]
    return [("stored level spike", values == values.dtype.type(low + int(level))) for level in sorted(levels)]



def _comb(counts: NDArray[np.intp]) -> bool:
    """Levels left empty all through the bulk of the values: values scaled up by a factor (or quantised
    coarsely), whose every used level stands alone like a spike that no device drew."""
    total = np.cumsum(counts)
    first, last = np.searchsorted(total, _COMB_BULK * total[-1]), np.searchsorted(total, (1 - _COMB_BULK) * total[-1])
    bulk = counts[first : last + 1]
    return bool(bulk.size > 2 * _AROUND and np.count_nonzero(bulk == 0) > _COMB_EMPTY * bulk.size)
