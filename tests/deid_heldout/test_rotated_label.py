"""A burned-in label turned by 90 degrees (written up or down the image) is found by the text search.

The held-out corpus (corpus.py) drew such labels; the search looked for lines along the rows only.
Synthetic image and text (a made-up word and digits), Pillow's DejaVu font or its built-in one.
"""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont
from pydicom.dataset import Dataset

from qms.deid.pixels.layout import PixelLayout
from qms.deid.pixels.textsearch import search_text

pytestmark = pytest.mark.verifies("QMS-RC-003")


def _image(angle: int) -> tuple[Dataset, tuple[int, int, int, int]]:
    try:
        font: ImageFont.FreeTypeFont | ImageFont.ImageFont = ImageFont.truetype(
            "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", 14)
    except OSError:
        font = ImageFont.load_default()
    label = Image.new("L", (200, 24), 0)
    ImageDraw.Draw(label).text((2, 2), "VORKALEN 4471902", fill=255, font=font)
    label = label.crop(label.getbbox()).rotate(angle, expand=True)
    yy, xx = np.mgrid[0:256, 0:256]
    pixels = np.exp(-(((xx - 128) ** 2 + (yy - 128) ** 2) / (2 * 70.0 ** 2))) * 900 + 200
    x, y = 20, 40
    stroke = np.zeros((256, 256), bool)
    stroke[y:y + label.height, x:x + label.width] = np.asarray(label) > 110
    pixels[stroke] = 4095
    ds = Dataset()
    ds.Rows = ds.Columns = 256
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    ds.PixelData = pixels.astype(np.uint16).tobytes()
    ds.file_meta = Dataset()
    ds.file_meta.TransferSyntaxUID = "1.2.840.10008.1.2.1"
    return ds, (x, y, label.width, label.height)


@pytest.mark.parametrize("angle", [0, 90, 270])
def test_a_label_along_the_rows_or_the_columns_is_found(angle: int) -> None:
    ds, (x, y, w, h) = _image(angle)
    found = search_text(ds, PixelLayout.from_dataset(ds)).rectangles()
    covered = np.zeros((256, 256), bool)
    for r in found:
        covered[r.y:r.y + r.height, r.x:r.x + r.width] = True
    assert covered[y:y + h, x:x + w].mean() > 0.8, found
