"""`qms deid verify` reads pixel text with OCR too when asked: text the shape search cannot see as strokes
(antialiased, blended into the anatomy) is still a finding, and clean slices stay clean."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.deid_pixels.synthetic import written
from tests.deid_pixels.tilted import clean_slice, labelled_slice
from qms.deid.pixels import OcrMode, PixelOptions, find_residual_text

pytestmark = [
    pytest.mark.skipif(shutil.which("tesseract") is None, reason="tesseract-ocr is not installed"),
    pytest.mark.skipif(not Path("/usr/share/fonts/truetype/liberation").is_dir(),
                       reason="the labels' cases were chosen with the Liberation fonts (fonts-liberation)"),
]

ALWAYS = PixelOptions(ocr=OcrMode.ALWAYS)
READ = "OCR reads words in the pixels"


@pytest.mark.parametrize(("seed", "contrast"), [(5, 0.5), (7, 0.6), (8, 0.5)])
def test_blended_text_is_read_by_ocr_where_the_shape_search_alone_says_nothing(seed: int, contrast: float) -> None:
    """A level label blended into a CT slice: by shape alone no OCR finding; with OCR always, one naming the file and
    a region of the pixel data (never the text)."""
    ds = written(labelled_slice(seed, angle=0, contrast=contrast, drawn="blended").ds)
    assert all(f.reason != READ for f in find_residual_text(ds, "out/ct.dcm"))
    read = [f for f in find_residual_text(ds, "out/ct.dcm", ALWAYS) if f.reason == READ]
    assert read and all(f.item == "out/ct.dcm" and "PixelData region" in str(f.where) for f in read)


def test_ocr_off_is_the_shape_search_alone() -> None:
    """`ocr = off` reads nothing: the findings are the shape search's, as without options."""
    ds = written(labelled_slice(7, angle=0, contrast=0.6, drawn="blended").ds)
    assert find_residual_text(ds, "x.dcm", PixelOptions(ocr=OcrMode.OFF)) == find_residual_text(ds, "x.dcm")


@pytest.mark.parametrize("seed", range(100, 108))
def test_clean_slices_stay_clean_when_read_with_ocr(seed: int) -> None:
    assert find_residual_text(written(clean_slice(seed)), "clean.dcm", ALWAYS) == []
