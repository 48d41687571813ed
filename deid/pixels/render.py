"""Frames as 8-bit grey images for text detection: contrast-stretched, and over the stored range."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from pydicom.dataset import Dataset
from pydicom.pixels.decoders.base import get_decoder
from pydicom.pixels.processing import apply_color_lut

from qms.deid.pixels.layout import PixelLayout

__all__ = ["Rendering", "frame_indices", "render", "render_frames"]


@dataclass(frozen=True)
class Rendering:
    """One frame, bright where the display is bright (MONOCHROME1 inverted, palettes applied).

    `grey` spans the frame's own minimum to maximum (for reading); `absolute` spans the
    values the stored samples can take, so annotations drawn at the range's ends stay at 0 or 255.
    """

    grey: NDArray[np.uint8]
    absolute: NDArray[np.uint8]


def frame_indices(frames: int, limit: int) -> list[int]:
    """First, middle and last frame (as many as `limit` allows), without repeats."""
    wanted = [0, frames // 2, frames - 1, *range(1, frames)]
    chosen: list[int] = []
    for index in wanted:
        if index not in chosen and len(chosen) < min(limit, frames):
            chosen.append(index)
    return chosen


def render_frames(ds: Dataset, limit: int) -> list[Rendering]:
    """The frames to search (see `frame_indices`), decoded from the dataset as it is now."""
    layout = PixelLayout.from_dataset(ds)
    decoder = get_decoder(layout.transfer_syntax)
    images: list[Rendering] = []
    for index in frame_indices(layout.frames, limit):
        arr, _ = decoder.as_array(ds, index=index, raw=False)
        images.append(render(arr, ds, layout))
    return images


def render(arr: NDArray[np.generic], ds: Dataset, layout: PixelLayout) -> Rendering:
    """Luminance of one decoded frame, scaled both ways."""
    if layout.photometric_interpretation == "PALETTE COLOR":
        colour = apply_color_lut(arr, ds)
        low, high = 0.0, float(np.iinfo(colour.dtype).max) if colour.dtype.kind in "ui" else float(colour.max())
    else:
        colour = arr
        low = float(-(1 << (layout.bits_stored - 1))) if layout.signed else 0.0
        high = float((1 << (layout.bits_stored - 1)) - 1) if layout.signed else float((1 << layout.bits_stored) - 1)
    values: NDArray[np.float64] = np.asarray(colour, dtype=np.float64)
    if values.ndim == 3:
        values = 0.299 * values[..., 0] + 0.587 * values[..., 1] + 0.114 * values[..., 2]
    invert = layout.photometric_interpretation == "MONOCHROME1"
    return Rendering(
        _scale(values, float(values.min()), float(values.max()), invert), _scale(values, low, high, invert)
    )


def _scale(values: NDArray[np.float64], low: float, high: float, invert: bool) -> NDArray[np.uint8]:
    scaled = np.zeros_like(values) if high <= low else (values - low) * (255.0 / (high - low))
    if invert:
        scaled = 255.0 - scaled
    return np.clip(scaled + 0.5, 0, 255).astype(np.uint8)
