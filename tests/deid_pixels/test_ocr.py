"""Burned-in text found by tesseract is masked: a synthetic name rendered into synthetic images."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont
from pydicom.uid import RLELossless

from qms.deid.pixels import PixelOptions, RegionSource, check_regions_blank, clean_pixels
from qms.deid.pixels.ocr import detect_text
from qms.deid.pixels.render import render_frames
from tests.deid_pixels.synthetic import native, pixels, written

pytestmark = [
    pytest.mark.external,
    pytest.mark.skipif(shutil.which("tesseract") is None, reason="tesseract-ocr is not installed"),
]
FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"
NAME = "DOE^JANE 19650412"  # synthetic PHI


def _text_mask(rows: int, columns: int, at: tuple[int, int], size: int = 18) -> np.ndarray:
    layer = Image.new("L", (columns, rows), 0)
    ImageDraw.Draw(layer).text(at, NAME, fill=255, font=ImageFont.truetype(FONT, size))
    mask: np.ndarray = np.asarray(layer) > 100
    return mask


def _chest(rows: int = 512, columns: int = 512) -> np.ndarray:
    """A smooth synthetic 'chest' with noise, 12 bits stored."""
    yy, xx = np.mgrid[0:rows, 0:columns]
    body = 1400 + 1300 * np.exp(-((xx - columns / 2) ** 2 / (2 * 130.0**2) + (yy - rows * 0.55) ** 2 / (2 * 170.0**2)))
    noisy: np.ndarray = body + np.random.default_rng(3).normal(0, 50, body.shape)
    return noisy


def test_burned_in_name_on_chest_radiograph_is_masked() -> None:
    """A name burned into a flagged 16-bit radiograph is masked by OCR and the shape search; BurnedInAnnotation becomes NO."""
    text = _text_mask(512, 512, (24, 18))
    image = _chest()
    image[text] = 4095
    ds = native(np.clip(image, 0, 4095).astype(np.uint16)[np.newaxis], bits_stored=12, BurnedInAnnotation="YES")
    report = clean_pixels(ds, PixelOptions())
    out = written(ds)
    after = pixels(out)[0, ..., 0]
    assert not after[text].any(), "a pixel of the burned-in name survived"
    assert report.ocr_ran and report.clean_pixel_data
    assert {r.source for r in report.regions} == {RegionSource.OCR, RegionSource.TEXT_LIKE}
    assert out.BurnedInAnnotation == "NO" and report.burned_in_annotation == "NO"
    assert check_regions_blank(out, report.regions) == []
    masked = sum(r.rectangle.width * r.rectangle.height for r in report.regions)
    assert masked < 0.1 * 512 * 512, "detection masked far more than the text"


def test_dark_text_on_multi_frame_ultrasound_is_masked_in_every_frame() -> None:
    """Dark text on a light RGB ultrasound cine, searched in two frames, is masked in all four; a false NO becomes YES."""
    text = _text_mask(240, 320, (10, 200), size=16)
    rng = np.random.default_rng(5)
    frames = np.stack([np.full((240, 320, 3), 200, dtype=np.uint8) + rng.integers(0, 30, (240, 320, 3), dtype=np.uint8) for _ in range(4)])
    frames[:, text] = 10
    ds = native(frames, photometric="RGB", Modality="US")
    ds.BurnedInAnnotation = "NO"
    report = clean_pixels(ds, PixelOptions(ocr_max_frames=2))
    after = pixels(written(ds))
    assert not after[:, text].any()
    assert report.ocr_ran and report.burned_in_annotation == "YES", "text found, two of four frames searched: not NO"
    assert "2 of 4 frames" in report.notes[0]


def test_second_pass_reads_nothing_after_cleaning() -> None:
    """After cleaning, tesseract reads no word of three or more letters where the name was."""
    text = _text_mask(400, 400, (40, 300), size=22)
    image = _chest(400, 400)
    image[text] = 4095
    ds = native(np.clip(image, 0, 4095).astype(np.uint16)[np.newaxis], bits_stored=12, Modality="SC")
    clean_pixels(ds, PixelOptions())
    assert not [w for w in detect_text(render_frames(ds, 1), PixelOptions()) if w.strong]


@pytest.mark.parametrize("photometric", ["MONOCHROME2", "MONOCHROME1"])
def test_small_default_font_at_the_top_edge_is_masked(photometric: str) -> None:
    """A name and MRN in PIL's default font touching the top edge of a 128-pixel radiograph are masked entirely."""
    band = Image.new("L", (128, 14), 0)
    ImageDraw.Draw(band).text((2, 1), "ROE MRN00412345", fill=255)  # synthetic PHI, the demo generator's style
    image = np.clip(_chest(128, 128) / 4095.0, 0, 1)
    image[:14] = np.maximum(image[:14], np.asarray(band) / 255.0)
    stored = np.round(image * 4095).astype(np.uint16)
    if photometric == "MONOCHROME1":
        stored = (4095 - stored).astype(np.uint16)
    text = np.zeros((128, 128), dtype=bool)
    text[:14] = np.asarray(band) > 12
    ds = native(stored[np.newaxis], photometric=photometric, bits_stored=12, BurnedInAnnotation="YES")
    report = clean_pixels(ds, PixelOptions())
    covered = np.zeros_like(text)
    for region in report.regions:
        r = region.rectangle
        covered[r.y : r.y + r.height, r.x : r.x + r.width] = True
    assert not (text & ~covered).any(), "part of the burned-in text is outside every masked region"
    assert report.burned_in_annotation == "NO"


@pytest.mark.parametrize("size", [128, 512])
def test_image_without_text_is_not_masked(size: int) -> None:
    """Detection on a radiograph with no burned-in text masks nothing: anatomy is not mistaken for text."""
    stored = np.clip(_chest(size, size), 0, 4095).astype(np.uint16)
    ds = native(stored[np.newaxis], bits_stored=12, Modality="SC")
    before = bytes(ds.PixelData)
    report = clean_pixels(ds, PixelOptions())
    assert report.ocr_ran and report.regions == ()
    assert ds.PixelData == before and "BurnedInAnnotation" not in ds


def test_rle_flagged_image_is_masked_and_written_back_as_rle() -> None:
    """An RLE Lossless flagged image is decoded, its text masked, and written as RLE that decodes to the masked pixels."""
    text = _text_mask(256, 256, (12, 220), size=16)
    image = _chest(256, 256)
    image[text] = 4095
    ds = native(np.clip(image, 0, 4095).astype(np.uint16)[np.newaxis], bits_stored=12, BurnedInAnnotation="YES")
    ds.compress(RLELossless, generate_instance_uid=False)
    report = clean_pixels(ds, PixelOptions())
    out = written(ds)
    assert report.decoded and report.transfer_syntax == RLELossless
    assert out.file_meta.TransferSyntaxUID == RLELossless
    after = pixels(out)[0, ..., 0]
    assert not after[text].any()
    assert check_regions_blank(out, report.regions) == []


def test_one_tesseract_thread_reads_the_same_words_as_its_default_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    """The tesseract binary runs with one OpenMP thread (a quarter of the CPU) and reads the very words its default threads read."""
    import pytesseract.pytesseract as tesseract_module

    from qms.deid.pixels import ocr

    image = Image.fromarray(np.clip(_chest() / 16, 0, 255).astype(np.uint8))
    ImageDraw.Draw(image).text((40, 30), NAME, fill=255, font=ImageFont.truetype(FONT, 20))
    canvas = np.asarray(image)
    binary = PixelOptions(tesseract_cmd="tesseract")
    assert ocr._TESSERACT_ENV["OMP_THREAD_LIMIT"] == "1"
    single = ocr._read(canvas, 1, binary)
    monkeypatch.setattr(ocr, "_TESSERACT_ENV", {k: v for k, v in ocr._TESSERACT_ENV.items() if k != "OMP_THREAD_LIMIT"})
    default = ocr._read(canvas, 1, binary)
    assert tesseract_module.environ is ocr._TESSERACT_ENV
    assert single == default and single
