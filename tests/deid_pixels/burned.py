"""Synthetic burned-in text for the text-search tests: a made-up name and MRN drawn into made-up anatomy.

The text is rendered with Pillow's built-in font (no system font needed); every value is synthetic.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray
from PIL import Image, ImageDraw, ImageFont

NAME_AND_MRN = "QUELLMARK^DAGNY MRN 4471203"  # synthetic PHI


def text_mask(rows: int, columns: int, at: tuple[int, int], text: str = NAME_AND_MRN, size: int = 14,
              alpha: bool = False) -> NDArray[Any]:
    """True where `text` is drawn at (x, y) in a `columns` x `rows` image; with `alpha`, its antialiased
    coverage from 0 to 1 instead."""
    layer = Image.new("L", (columns, rows), 0)
    ImageDraw.Draw(layer).text(at, text, fill=255, font=ImageFont.load_default(size=size))
    coverage = np.asarray(layer)
    return coverage / 255.0 if alpha else coverage > 100


def anatomy(rows: int, columns: int, seed: int = 3, *, low: float = 0.0, high: float = 2700.0,
            noise: float = 40.0) -> NDArray[np.float64]:
    """A smooth body-like blob from `low` to about `high` with Gaussian noise (float; the caller casts)."""
    yy, xx = np.mgrid[0:rows, 0:columns]
    body = np.exp(-((xx - columns / 2) ** 2 / (2 * (columns / 4) ** 2) + (yy - rows * 0.55) ** 2 / (2 * (rows / 3) ** 2)))
    image: NDArray[np.float64] = low + (high - low) * body + np.random.default_rng(seed).normal(0, noise, body.shape)
    return image

