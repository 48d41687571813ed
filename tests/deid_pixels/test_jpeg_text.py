"""Burned-in text in JPEG Baseline images: found despite ringing and blur, masked whole, checked again."""

from __future__ import annotations

import io

import numpy as np
import pytest
from numpy.typing import NDArray
from PIL import Image
from pydicom.dataset import Dataset
from pydicom.encaps import encapsulate
from pydicom.uid import JPEGBaseline8Bit

from qms.deid.pixels import OcrMode, PixelOptions, clean_pixels, find_residual_text
from tests.deid_pixels.burned import anatomy, text_mask
from tests.deid_pixels.synthetic import native, pixels, region_mask, written

SHAPE_ONLY = PixelOptions(ocr=OcrMode.OFF)
_ROWS = _COLUMNS = 256
_YELLOW = (255, 255, 0)


def _jpeg(frames: NDArray[np.uint8], modality: str) -> Dataset:
    """A JPEG Baseline dataset (Pillow, quality 95, as many writers make them) of 8-bit `frames`
    shaped (frames, rows, columns[, 3]); colour is stored YBR_FULL_422."""
    colour = frames.ndim == 4
    ds = native(frames if colour else frames[..., np.newaxis], photometric="RGB" if colour else "MONOCHROME2",
                Modality=modality)
    fragments = []
    for frame in frames:
        buffer = io.BytesIO()
        Image.fromarray(frame).save(buffer, "JPEG", quality=95)
        fragments.append(buffer.getvalue())
    ds.PixelData = encapsulate(fragments)
    ds["PixelData"].VR = "OB"
    if colour:
        ds.PhotometricInterpretation = "YBR_FULL_422"
    ds.LossyImageCompression = "01"
    ds.file_meta.TransferSyntaxUID = JPEGBaseline8Bit
    return written(ds)


def _grey(text: NDArray[np.bool_] | None, frames: int = 1) -> NDArray[np.uint8]:
    """Dim anatomy with `text` drawn mid-grey (128) in the last frame: not the 8-bit maximum, and JPEG rings around it."""
    stack = np.stack([np.clip(anatomy(_ROWS, _COLUMNS, seed=k, low=20, high=90, noise=8), 0, 110) for k in range(frames)])
    if text is not None:
        stack[-1][text] = 128
    return stack.astype(np.uint8)


def _rgb(text: NDArray[np.bool_] | None) -> NDArray[np.uint8]:
    """Grey anatomy in RGB with `text` drawn yellow, as ultrasound and secondary-capture devices do."""
    grey = np.clip(anatomy(_ROWS, _COLUMNS, low=10, high=130, noise=6), 0, 150).astype(np.uint8)
    rgb = np.stack([grey, grey, grey], axis=-1)
    if text is not None:
        rgb[text] = _YELLOW
    return rgb[np.newaxis]


_TEXT_AT = {"top": (8, 8), "bottom": (8, _ROWS - 40)}


@pytest.mark.parametrize(("modality", "kind"), [("CT", "grey"), ("MR", "grey"), ("CR", "rgb"), ("US", "rgb"),
                                                 ("US", "multi-frame"), ("SC", "rgb")])
@pytest.mark.parametrize("where", ["top", "bottom"])
def test_jpeg_baseline_text_is_masked_whole_and_written_losslessly(modality: str, kind: str, where: str) -> None:
    """Name and MRN lines burned into a JPEG Baseline image are found, masked whole with the ringing around
    them, found no more in the output, and written losslessly with LossyImageCompression kept 01."""
    x, y = _TEXT_AT[where]
    text = text_mask(_ROWS, _COLUMNS, (x, y), "OYELARAN, HOPE", size=14) \
        | text_mask(_ROWS, _COLUMNS, (x, y + 16), "MRN: 0003635476", size=14)
    ds = _jpeg(_rgb(text) if kind == "rgb" else _grey(text, 3 if kind == "multi-frame" else 1), modality)
    report = clean_pixels(ds, SHAPE_ONLY)
    masked = region_mask(_ROWS, _COLUMNS, report.regions)
    assert report.decoded and masked[text].all()
    halo = np.zeros_like(text)
    ys, xs = np.nonzero(text)
    halo[max(0, ys.min() - 6): ys.max() + 7, max(0, xs.min() - 6): xs.max() + 7] = True
    assert masked[halo].all()  # the ringing around the lines goes too
    assert find_residual_text(written(ds), "out.dcm") == []
    assert ds.file_meta.TransferSyntaxUID != JPEGBaseline8Bit
    assert ds.LossyImageCompression == "01" and any("lossy" in note for note in report.notes)


@pytest.mark.parametrize("kind", ["grey", "rgb"])
def test_verify_pixel_check_finds_the_text_of_an_unchanged_jpeg_copy(kind: str) -> None:
    """The verify pixel check reports text-like regions in an unchanged JPEG Baseline copy with burned-in text."""
    text = text_mask(_ROWS, _COLUMNS, (8, 8), "OYELARAN, HOPE", size=14)
    ds = _jpeg(_rgb(text) if kind == "rgb" else _grey(text), "CT")
    findings = find_residual_text(ds, "in/ct.dcm")
    assert findings and all(f.check == "pixel-text" for f in findings)


@pytest.mark.parametrize("kind", ["grey", "rgb"])
def test_jpeg_image_without_text_keeps_its_bytes(kind: str) -> None:
    """A JPEG Baseline image without text is searched, nothing is masked, and its encoded bytes are kept."""
    ds = _jpeg(_rgb(None) if kind == "rgb" else _grey(None), "CT")
    before = ds.PixelData
    report = clean_pixels(ds, SHAPE_ONLY)
    assert report.text_searched and report.regions == () and not report.decoded
    assert ds.PixelData == before and ds.file_meta.TransferSyntaxUID == JPEGBaseline8Bit
    assert find_residual_text(ds, "in/ct.dcm") == []
    assert pixels(ds).shape == (1, _ROWS, _COLUMNS, 3 if kind == "rgb" else 1)
