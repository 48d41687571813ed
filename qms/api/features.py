"""What monitoring needs to know about one input image, without PHI: acquisition attributes and image statistics.

The same function describes production inputs (here, at the door) and the validation
dataset's files (`qms.monitor`), so both sides of a drift comparison are measured alike.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from pydicom.dataset import Dataset

__all__ = ["ATTRIBUTES", "describe"]

ATTRIBUTES = ("Manufacturer", "ManufacturerModelName", "Modality")


def _spacing(ds: Dataset) -> float | None:
    for keyword in ("PixelSpacing", "ImagerPixelSpacing"):
        value = ds.get(keyword)
        if value:
            try:
                return float(value[0])
            except (TypeError, ValueError, IndexError):
                return None
    return None


def describe(ds: Dataset) -> dict[str, Any]:
    """Acquisition attributes, pixel spacing and the stored image's mean and spread (scaled to 0..1)."""
    out: dict[str, Any] = {k: str(ds.get(k, "")).strip() or None for k in ATTRIBUTES}
    out["pixel_spacing"] = _spacing(ds)
    try:
        pixels = np.asarray(ds.pixel_array, dtype=np.float64)
        top = float(2 ** int(ds.get("BitsStored", 8)) - 1)
        out["mean"], out["std"] = float(pixels.mean() / top), float(pixels.std() / top)
    except (ValueError, TypeError, AttributeError, RuntimeError):
        out["mean"] = out["std"] = None
    return out
