"""Tilted and low-contrast burned-in labels on CT-like slices, for the text search's tests and benchmark.

Written apart from the held-out corpus (tests/deid_heldout/corpus.py), so the search is not tuned on it:
another font family (Liberation, or Pillow's built-in font), glyphs rendered four times larger, turned by
any angle with bicubic resampling and shrunk (antialiased coverage), then drawn one of three ways (see
`labelled_slice`): blended into the anatomy at a share of the display window, at one value inside the
anatomy's range, or at the extreme stored value. Backgrounds have organs with soft edges, lungs, a spine,
textured tissue and noise, under a soft-tissue, lung or wide window. Every word, number and pixel is
synthetic.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from PIL import Image, ImageDraw, ImageFont
from pydicom.dataset import Dataset

from qms.deid.pixels import find_residual_text
from qms.deid.pixels.layout import PixelLayout
from qms.deid.pixels.textsearch import search_text
from qms.synthetic_dicom import synthetic_image
from tests.deid_pixels.synthetic import region_mask, written

__all__ = ["Label", "clean_slice", "labelled_slice"]

_FONTS = ("LiberationSans-Regular.ttf", "LiberationSans-Bold.ttf", "LiberationMono-Regular.ttf",
          "LiberationSerif-Regular.ttf", "LiberationSansNarrow-Regular.ttf")
_SYLLABLES = ("ka", "vor", "len", "mi", "tas", "ub", "ro", "zel", "fen", "dor", "qui", "sa", "brem", "ot")
_WINDOWS = ((40, 400), (-600, 1500), (300, 1800))
"""Soft tissue, lung and a wide window (centre, width in HU)."""
_OVERSAMPLE = 4
_INTERCEPT = -2048
_TOP, _BOTTOM = 4095 + _INTERCEPT, _INTERCEPT
"""HU of the largest and smallest stored value (12 bits)."""


@dataclass(frozen=True)
class Label:
    """A slice with one burned-in label, where its glyphs are (coverage of half a pixel or more), and how drawn."""

    ds: Dataset
    strokes: NDArray[np.bool_]
    angle: float
    contrast: float
    """Share of the display window by which the glyphs stand out of the anatomy (signed: negative is darker)."""


def clean_slice(seed: int, rows: int = 256, columns: int = 256) -> Dataset:
    """A CT-like slice without text."""
    r = random.Random(seed)
    hu, window = _anatomy(r, rows, columns)
    return _dataset(hu, window)


def labelled_slice(seed: int, rows: int = 256, columns: int = 256, *, angle: float | None = None,
                   contrast: float | None = None, drawn: str = "blended") -> Label:
    """A CT-like slice with a made-up name and number burned in, turned by `angle` degrees (default 5 to 40
    either way) at `contrast` of the window (default 4 to 20 %, brighter or darker).

    `drawn`: "blended", added to the anatomy with antialiased edges (its texture and noise show through);
    "flat", at one value (the anatomy's median under the label plus the contrast) with hard edges, as a
    device draws a bitmap font onto a formed image; "saturated", at the largest (smallest, for a negative
    contrast) stored value, antialiased."""
    r = random.Random(seed)
    hu, window = _anatomy(r, rows, columns)
    angle = r.choice((-1, 1)) * r.uniform(5, 40) if angle is None else angle
    contrast = r.choice((-1, 1)) * r.uniform(0.04, 0.20) if contrast is None else contrast
    coverage = _label(r, rows, columns, angle)
    if drawn == "blended":
        hu = hu + contrast * window[1] * coverage
    else:
        level = float(np.median(hu[coverage > 0])) + contrast * window[1] if drawn == "flat" else \
            _TOP if contrast > 0 else _BOTTOM
        alpha = (coverage >= 0.5).astype(np.float64) if drawn == "flat" else coverage
        hu = hu * (1 - alpha) + round(min(max(level, _BOTTOM), _TOP)) * alpha
    return Label(_dataset(hu, window), coverage >= 0.5, angle, contrast)


def _anatomy(r: random.Random, rows: int, columns: int) -> tuple[NDArray[np.float64], tuple[int, int]]:
    """HU of a body (soft tissue with texture), two lungs, a spine and sometimes a bright vessel, with noise;
    and a window."""
    from scipy import ndimage

    rng = np.random.default_rng(r.randrange(2**32))
    yy, xx = np.mgrid[0:rows, 0:columns].astype(np.float64)
    cy, cx = rows * r.uniform(0.45, 0.55), columns * r.uniform(0.45, 0.55)

    def ellipse(y: float, x: float, ry: float, rx: float) -> NDArray[np.float64]:
        inside = ((yy - y) / ry) ** 2 + ((xx - x) / rx) ** 2
        soft: NDArray[np.float64] = 1.0 / (1.0 + np.exp(np.minimum((inside - 1.0) * r.uniform(8, 30), 50.0)))
        return soft

    window = r.choice(_WINDOWS)
    body = ellipse(cy, cx, rows * r.uniform(0.32, 0.42), columns * r.uniform(0.38, 0.46))
    texture = ndimage.gaussian_filter(rng.normal(0, 1, (rows, columns)), r.uniform(1.5, 4)) * r.uniform(60, 200)
    hu = -1000 + body * (1040 + texture)
    for side in (-1, 1):
        hu -= 850 * ellipse(cy - rows * 0.03, cx + side * columns * 0.17, rows * 0.2, columns * 0.12)
    hu += 650 * ellipse(cy + rows * 0.25, cx, rows * 0.05, columns * 0.05)
    hu += 900 * ellipse(cy, cx - columns * 0.05, rows * 0.06, columns * 0.05) * r.choice((0, 1))  # contrast in a vessel
    hu += rng.normal(0, window[1] * r.uniform(0.005, 0.02), (rows, columns))
    return hu, window


def _label(r: random.Random, rows: int, columns: int, angle: float) -> NDArray[np.float64]:
    """Coverage (0 to 1) of a made-up name and number drawn somewhere on a `columns` x `rows` slice."""
    name = "".join(r.choice(_SYLLABLES) for _ in range(r.randint(2, 4))).upper()
    text = f"{name} {r.randint(10**5, 10**8 - 1)}" if r.random() < 0.5 else f"{name}^{r.choice(_SYLLABLES).upper()}"
    size = r.randint(11, 18)
    try:
        font: Any = ImageFont.truetype(f"/usr/share/fonts/truetype/liberation/{r.choice(_FONTS)}",
                                       size * _OVERSAMPLE)
    except OSError:
        font = ImageFont.load_default(size=size * _OVERSAMPLE)
    big = Image.new("L", (len(text) * size * _OVERSAMPLE, 2 * size * _OVERSAMPLE), 0)
    ImageDraw.Draw(big).text((size, size // 2), text, fill=255, font=font)
    big = big.crop(big.getbbox()).rotate(angle, resample=Image.Resampling.BICUBIC, expand=True)
    small = big.resize((max(1, big.width // _OVERSAMPLE), max(1, big.height // _OVERSAMPLE)),
                       Image.Resampling.LANCZOS)
    w, h = min(small.width, columns - 4), min(small.height, rows - 4)
    x, y = r.randint(2, columns - w - 2), r.randint(2, rows - h - 2)
    coverage = np.zeros((rows, columns))
    coverage[y:y + h, x:x + w] = np.asarray(small, dtype=np.float64)[:h, :w] / 255.0
    return coverage


def _dataset(hu: NDArray[np.float64], window: tuple[int, int]) -> Dataset:
    stored = np.clip(np.rint(hu - _INTERCEPT), 0, 4095).astype(np.uint16)
    return synthetic_image(stored, bits_stored=12, attributes={
        "Manufacturer": "SYNTHETIC", "Modality": "CT", "RescaleIntercept": _INTERCEPT, "RescaleSlope": 1,
        "WindowCenter": window[0], "WindowWidth": window[1]})


def flagged(label: Label) -> bool:
    """verify's residual-text check names a region over most of the label's strokes."""
    findings = find_residual_text(written(label.ds), "in/slice.dcm")
    regions = search_text(label.ds, PixelLayout.from_dataset(label.ds), margin=0).rectangles()  # as verify's
    assert all(f.item == "in/slice.dcm" and "region" in (f.where or "") for f in findings)
    return bool(findings) and region_mask(256, 256, regions)[label.strokes].mean() > 0.9
