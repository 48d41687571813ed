"""Residual-PHI check of pixels for `qms deid verify`: text-like regions still present in an output.

Independent of the source and of what the cleaning reported: every frame is searched by
shape (`textsearch`) as the cleaning does, and each text-like line is a finding naming the
file, the frame and the rectangle, never the text. No OCR is needed.
"""

from __future__ import annotations

from pydicom.dataset import Dataset

from qms.deid.pixels.errors import PIXEL_DATA_TAG, PixelError
from qms.deid.pixels.layout import PixelLayout
from qms.deid.pixels.textsearch import search_text
from qms.findings import Finding

__all__ = ["PIXEL_TEXT", "PIXEL_UNDECODABLE", "find_residual_text"]

PIXEL_TEXT = "pixel-text"
PIXEL_UNDECODABLE = "pixel-undecodable"
_PIXEL_DATA = 0x7FE00010


def find_residual_text(ds: Dataset, file: str) -> list[Finding]:
    """One finding per text-like region in any frame of `ds` (an output dataset); empty when none is found."""
    if _PIXEL_DATA not in ds._dict:
        return []
    try:
        layout = PixelLayout.from_dataset(ds)
        result = search_text(ds, layout, margin=0)
    except PixelError as exc:
        return [Finding(PIXEL_UNDECODABLE, file, f"pixel data cannot be searched for text: {exc.message}",
                        hint="quarantine the file: text in pixels that cannot be decoded cannot be ruled out",
                        where=PIXEL_DATA_TAG + " PixelData")]
    return [
        Finding(PIXEL_TEXT, file, f"text-like marks remain in the pixels ({region.view})",
                hint="mask the region (a region-library rule, or run deid with text search) and write the file again",
                where=f"{PIXEL_DATA_TAG} PixelData frame {region.frame + 1} region {region.rectangle.to_json()}")
        for region in result.regions
    ]
