"""Properties of the text search over generated images: text anywhere is masked, anatomy alone is not."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from qms.deid.pixels import OcrMode, PixelOptions, clean_pixels
from tests.deid_pixels.burned import anatomy, text_mask
from tests.deid_pixels.synthetic import native, pixels

SHAPE_ONLY = PixelOptions(ocr=OcrMode.OFF)
WINDOWS = st.one_of(st.none(), st.tuples(st.integers(-200, 2500), st.integers(80, 5000)))


def _attributes(window: tuple[int, int] | None) -> dict[str, object]:
    return {} if window is None else {"WindowCenter": window[0], "WindowWidth": window[1]}


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), noise=st.floats(5, 120), high=st.floats(400, 3900), window=WINDOWS)
def test_anatomy_without_text_is_never_masked(seed: int, noise: float, high: float,
                                              window: tuple[int, int] | None) -> None:
    """A noisy body-like image without text, under any window, keeps its pixel data byte for byte."""
    image = np.clip(anatomy(160, 192, seed=seed, low=30, high=high, noise=noise), 0, 4095).astype(np.uint16)
    ds = native(image[np.newaxis], bits_stored=12, Modality="CT", RescaleIntercept=-1024, **_attributes(window))
    before = bytes(ds.PixelData)
    assert clean_pixels(ds, SHAPE_ONLY).regions == ()
    assert ds.PixelData == before


@settings(max_examples=25, deadline=None)
@given(x=st.integers(0, 60), y=st.integers(0, 140), size=st.integers(10, 18), seed=st.integers(0, 10_000),
       window=WINDOWS, text=st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789^", min_size=6, max_size=14))
def test_text_at_the_maximum_stored_value_is_masked_anywhere(x: int, y: int, size: int, seed: int,
                                                             window: tuple[int, int] | None, text: str) -> None:
    """Synthetic text of any size, place and window, drawn at the maximum stored value, loses every pixel."""
    mask = text_mask(160, 192, (x, y), text=text, size=size)
    image = np.clip(anatomy(160, 192, seed=seed, low=30, high=2600), 0, 4094)
    image[mask] = 4095
    ds = native(image.astype(np.uint16)[np.newaxis], bits_stored=12, Modality="CT", RescaleIntercept=-1024,
                **_attributes(window))
    clean_pixels(ds, SHAPE_ONLY)
    assert not (pixels(ds)[0, ..., 0][mask] == 4095).any()
