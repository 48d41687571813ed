"""Residual-PHI check of pixels for `qms deid verify`: text still present in an output.

Independent of the source and of what the cleaning reported: every frame is searched by
shape (`textsearch`) as the cleaning does, and each text-like line is a finding naming the
file, the frame and the rectangle, never the text. The shape search misses text it cannot see
as strokes (faint, small, over anatomy: RESULTS.md, the independent burned-in attack), so with
`options` whose OCR is on, tesseract reads whole frames too where the cleaning reads them
(`clean.detection_wanted`), or every image with `ocr = always`; a word it reads beyond reasonable
doubt is a finding. The windows the shape search cannot decide are not read here: in noisy
anatomy OCR reads "words" in some of them (12 of the demo's 827 outputs), which would call a clean
folder leaking.
"""

from __future__ import annotations

from pydicom.dataset import Dataset

from qms.deid.pixels import ocr
from qms.deid.pixels.clean import detection_wanted
from qms.deid.pixels.errors import PIXEL_DATA_TAG, PixelError
from qms.deid.pixels.layout import PixelLayout
from qms.deid.pixels.options import OcrMode, PixelOptions
from qms.deid.pixels.render import render_frames
from qms.deid.pixels.report import Rectangle
from qms.deid.pixels.textsearch import search_text
from qms.findings import Finding

__all__ = ["PIXEL_TEXT", "PIXEL_UNDECODABLE", "find_residual_text", "reads_with_ocr"]

PIXEL_TEXT = "pixel-text"
PIXEL_UNDECODABLE = "pixel-undecodable"
_PIXEL_DATA = 0x7FE00010
_HINT = "mask the region (a region-library rule, or run deid with text search) and write the file again"


def reads_with_ocr(options: PixelOptions | None) -> bool:
    """Whether verify can read text with these options: OCR not off, and tesseract installed."""
    return options is not None and options.ocr is not OcrMode.OFF and ocr.unavailable_reason(options) is None


def find_residual_text(ds: Dataset, file: str, options: PixelOptions | None = None) -> list[Finding]:
    """One finding per text-like region (and, OCR on, per word read) in any frame of `ds` (an output dataset)."""
    if _PIXEL_DATA not in ds._dict:
        return []
    try:
        layout = PixelLayout.from_dataset(ds)
        result = search_text(ds, layout, margin=0)
        found = [_finding(file, f"text-like marks remain in the pixels ({r.view})", r.rectangle, r.frame)
                 for r in result.regions]
        if options is None or not reads_with_ocr(options):
            return found
        if options.ocr is OcrMode.ALWAYS or detection_wanted(ds, options, False)[0]:
            words = ocr.detect_text(render_frames(ds, options.ocr_max_frames), options)
            found += [_finding(file, "OCR reads words in the pixels", w.rectangle, None) for w in words if w.strong]
    except PixelError as exc:
        return [Finding(PIXEL_UNDECODABLE, file, f"pixel data cannot be searched for text: {exc.message}",
                        hint="quarantine the file: text in pixels that cannot be decoded cannot be ruled out",
                        where=PIXEL_DATA_TAG + " PixelData")]
    return found


def _finding(file: str, reason: str, box: Rectangle, frame: int | None) -> Finding:
    at = "" if frame is None else f" frame {frame + 1}"
    return Finding(PIXEL_TEXT, file, reason, hint=_HINT, where=f"{PIXEL_DATA_TAG} PixelData{at} region {box.to_json()}")
