"""Synthetic images for the pixel-cleaning tests: datasets built from arrays, no real data.

Every dataset here is generated in memory (`qms.synthetic_dicom`); the only files used are pydicom's own test
files (pydicom.data), which carry no real PHI (see pydicom's data README).
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pydicom
from numpy.typing import NDArray
from pydicom.dataset import Dataset
from pydicom.pixels.decoders.base import get_decoder
from pydicom.uid import UID, ExplicitVRBigEndian, ExplicitVRLittleEndian

from qms.deid.pixels import MaskedRegion, Rectangle
from qms.deid.pixels.layout import transfer_syntax_of
from qms.synthetic_dicom import synthetic_image

def header(rows: int, columns: int, **attributes: object) -> Dataset:
    """A minimal image header without Pixel Data; keyword arguments set or override attributes."""
    ds = synthetic_image(np.zeros((rows, columns), dtype=np.uint16), attributes={"Manufacturer": "SYNTHETIC",
                                                                                  **attributes})
    del ds.PixelData
    return ds


def native(
    arr: NDArray[np.generic],
    *,
    photometric: str = "MONOCHROME2",
    bits_stored: int | None = None,
    planar: int = 0,
    big_endian: bool = False,
    **attributes: object,
) -> Dataset:
    """A native dataset whose Pixel Data encodes `arr` shaped (frames, rows, columns[, samples])."""
    return synthetic_image(arr, multiframe=True, photometric=photometric, bits_stored=bits_stored, planar=planar,
                           transfer_syntax=ExplicitVRBigEndian if big_endian else ExplicitVRLittleEndian,
                           attributes={"Manufacturer": "SYNTHETIC", **attributes})


def bits(arr: NDArray[np.uint8], **attributes: object) -> Dataset:
    """A BitsAllocated 1 dataset (frames packed back to back, LSB first) from a 0/1 array."""
    return synthetic_image(arr.astype(bool), multiframe=True, attributes={"Manufacturer": "SYNTHETIC", **attributes})


def shipped(name: str) -> Dataset:
    """One of pydicom's own test files (pydicom/data/test_files); skips when this pydicom lacks it."""
    import pytest
    from pydicom.data import get_testdata_file

    path = get_testdata_file(name)
    if path is None:
        pytest.skip(f"{name} is not shipped with this pydicom")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pydicom.dcmread(path)


def written(ds: Dataset) -> Dataset:
    """The dataset as a reader sees it after writing it with its transfer syntax."""
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pydicom.dcmread(io.BytesIO(buffer.getvalue()))


def pixels(ds: Dataset, *, raw: bool = False) -> NDArray[np.generic]:
    """Decoded pixels shaped (frames, rows, columns, samples)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        arr, meta = get_decoder(UID(transfer_syntax_of(ds))).as_array(ds, raw=raw)
    frames = int(meta.get("number_of_frames", 1))
    return arr.reshape(frames, int(meta["rows"]), int(meta["columns"]), int(meta["samples_per_pixel"]))


def region_mask(rows: int, columns: int, regions: Sequence[MaskedRegion | Rectangle]) -> NDArray[np.bool_]:
    """True inside any of the rectangles."""
    mask = np.zeros((rows, columns), dtype=bool)
    for item in regions:
        r = item.rectangle if isinstance(item, MaskedRegion) else item
        mask[r.y : r.y + r.height, r.x : r.x + r.width] = True
    return mask


def library_file(tmp_path: Path, text: str) -> Path:
    """Write a region-library script into the test's temporary folder."""
    path = tmp_path / "library.script"
    path.write_text(text, encoding="utf-8")
    return path


TEXT_FONTS = ("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf", "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf")
TEXT_LINES = ("DOE^JANE 19650412", "ACC 4471-22 LEFT", "St Elsewhere Hospital")  # synthetic PHI


def text_page(seed: int) -> NDArray[np.uint8]:
    """An 8-bit page for OCR: noisy anatomy-like grey with lines of synthetic text at seeded places, sizes, fonts, polarity."""
    from PIL import Image, ImageDraw, ImageFont

    rng = np.random.default_rng(seed)
    rows, columns = int(rng.integers(200, 420)), int(rng.integers(260, 520))
    yy, xx = np.mgrid[0:rows, 0:columns]
    body = 120 + 90 * np.exp(-((xx - columns / 2) ** 2 + (yy - rows / 2) ** 2) / (2 * (rows / 3) ** 2))
    image = Image.fromarray(np.clip(body + rng.normal(0, 12, body.shape), 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(image)
    for line in TEXT_LINES[: int(rng.integers(1, 4))]:
        font = ImageFont.truetype(TEXT_FONTS[int(rng.integers(0, 2))], int(rng.integers(11, 22)))
        at = (int(rng.integers(0, columns // 3)), int(rng.integers(0, rows - 24)))
        draw.text(at, line, fill=int(rng.choice([0, 255])), font=font)
    return np.asarray(image)
