"""Burned-in text the shape search once missed, and marks it once took for text (the eighth stop's attack).

Each image is built here: JPEG-decoded pixels stored natively without LossyImageCompression, large bold labels,
a ruler whose ticks sit at the stored maximum.
"""

from __future__ import annotations

import io

import numpy as np
from numpy.typing import NDArray
from PIL import Image
from scipy import ndimage

from qms.deid.pixels import OcrMode, PixelOptions, clean_pixels, find_residual_text
from tests.deid_pixels.burned import anatomy, text_mask
from tests.deid_pixels.synthetic import native, region_mask

SHAPE_ONLY = PixelOptions(ocr=OcrMode.OFF)
_ROWS = _COLUMNS = 256


def _jpeg_decoded(image: NDArray[np.uint8], quality: int) -> NDArray[np.uint8]:
    """`image` after a JPEG round trip at `quality` (what an archive that recompressed it hands back)."""
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, "JPEG", quality=quality)
    return np.asarray(Image.open(io.BytesIO(buffer.getvalue())).convert("L"))


def _masked_share(text: NDArray[np.bool_], masked: NDArray[np.bool_]) -> float:
    return float(masked[text].mean())


def test_text_in_jpeg_decoded_pixels_stored_without_the_lossy_flag_is_masked() -> None:
    """Native pixels that went through JPEG (quality 40) and carry no LossyImageCompression: the lines (drawn just
    above bright anatomy) are found although few of their pixels keep the display's extreme, and verify flags
    the unchanged copy."""
    text = text_mask(_ROWS, _COLUMNS, (8, 8), "OYELARAN, HOPE", size=14) \
        | text_mask(_ROWS, _COLUMNS, (8, 26), "MRN 0003635476", size=14)
    image = np.clip(anatomy(_ROWS, _COLUMNS, low=10, high=230, noise=6), 0, 255).astype(np.uint8)
    image[text] = 240
    stored = _jpeg_decoded(image, 40)
    ds = native(stored[np.newaxis, ..., np.newaxis], Modality="CR")
    assert "LossyImageCompression" not in ds
    assert find_residual_text(ds, "in/cr.dcm")
    report = clean_pixels(ds, SHAPE_ONLY)
    assert _masked_share(text, region_mask(_ROWS, _COLUMNS, report.regions)) >= 0.95


def test_native_image_without_text_is_not_masked_by_the_lossy_fallback() -> None:
    """A JPEG-decoded radiograph without text stays unmasked although the relaxed search ran on it."""
    image = np.clip(anatomy(_ROWS, _COLUMNS, low=10, high=230, noise=10), 0, 255).astype(np.uint8)
    ds = native(_jpeg_decoded(image, 50)[np.newaxis, ..., np.newaxis], Modality="CR")
    assert clean_pixels(ds, SHAPE_ONLY).regions == ()


def test_a_large_bold_label_is_masked() -> None:
    """A bold label 21-25 px high (strokes 4-6 px wide, wider than small text's) on a 12-bit radiograph is masked
    whole: wide strokes count as strokes where the text is large."""
    rows = columns = 512
    for size in (24, 28, 32):
        text = ndimage.binary_dilation(text_mask(rows, columns, (16, 16), "HOPE OYELARAN", size=size),
                                       np.ones((3, 3), dtype=bool))
        image = np.clip(anatomy(rows, columns, low=100, high=2700, noise=30), 0, 4095).astype(np.uint16)
        image[text] = 4095
        report = clean_pixels(native(image[np.newaxis, ..., np.newaxis], bits_stored=12, Modality="CR"), SHAPE_ONLY)
        assert _masked_share(text, region_mask(rows, columns, report.regions)) >= 0.95, size


def _ruler(numbers: bool) -> tuple[NDArray[np.uint16], NDArray[np.bool_]]:
    """A 12-bit radiograph with a ruler at the stored maximum: a baseline and 40 ticks 2 px wide every 10 px,
    every fifth one longer; with `numbers`, a label under the ticks (its strokes returned)."""
    rows = columns = 512
    image = np.clip(anatomy(rows, columns, low=100, high=2500, noise=30), 0, 3000).astype(np.uint16)
    image[458:460, 40:432] = 4095
    for i in range(40):
        image[460 : 470 if i % 5 else 480, 40 + 10 * i : 42 + 10 * i] = 4095
    label = text_mask(rows, columns, (40, 484), "OYELARAN 0 5 10 CM", size=14) if numbers else np.zeros_like(image, bool)
    image[label] = 4095
    return image, label


def test_a_rulers_ticks_are_not_masked_and_its_label_is() -> None:
    """Regular ticks of one width at one spacing are a scale, not text: nothing of a bare ruler is masked;
    a label written under it still is."""
    bare, _ = _ruler(numbers=False)
    assert clean_pixels(native(bare[np.newaxis, ..., np.newaxis], bits_stored=12, Modality="CR"),
                        SHAPE_ONLY).regions == ()
    labelled, label = _ruler(numbers=True)
    report = clean_pixels(native(labelled[np.newaxis, ..., np.newaxis], bits_stored=12, Modality="CR"), SHAPE_ONLY)
    assert _masked_share(label, region_mask(512, 512, report.regions)) >= 0.95
