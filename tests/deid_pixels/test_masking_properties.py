"""Property tests: for random images and random rectangles, inside is blank, outside is untouched."""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qms.deid.pixels import OcrMode, PixelOptions, Rectangle, RegionLibrary, clean_pixels
from tests.deid_pixels.synthetic import native, pixels, region_mask, written

DTYPES: list[type[np.integer[Any]]] = [np.uint8, np.int8, np.uint16, np.int16]

rectangles = st.lists(
    st.builds(
        Rectangle,
        x=st.integers(-5, 45),
        y=st.integers(-5, 45),
        width=st.integers(0, 50),
        height=st.integers(0, 50),
    ),
    min_size=1,
    max_size=4,
)


@st.composite
def images(draw: st.DrawFn) -> tuple[np.ndarray, str, int, bool]:
    dtype = draw(st.sampled_from(DTYPES))
    samples = draw(st.sampled_from([1, 3])) if dtype in (np.uint8, np.uint16) else 1
    frames, rows, columns = draw(st.integers(1, 3)), draw(st.integers(1, 40)), draw(st.integers(1, 40))
    shape = (frames, rows, columns) + ((samples,) if samples > 1 else ())
    seed = draw(st.integers(0, 2**32 - 1))
    info = np.iinfo(dtype)
    arr = np.random.default_rng(seed).integers(info.min, info.max, size=shape, endpoint=True).astype(dtype)
    photometric = "RGB" if samples > 1 else draw(st.sampled_from(["MONOCHROME1", "MONOCHROME2"]))
    return arr, photometric, draw(st.integers(0, 1)), draw(st.booleans())


def _library(boxes: list[Rectangle]) -> RegionLibrary:
    rectangles_text = " ".join(f"({r.x},{r.y},{r.width},{r.height})" for r in boxes)
    return RegionLibrary.from_text(f"Random\n{{ true. }}\n{rectangles_text}\n", "property")


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(image=images(), boxes=rectangles)
def test_random_rectangles_on_random_images(image: tuple[np.ndarray, str, int, bool], boxes: list[Rectangle]) -> None:
    """Rectangles are clipped to the image; inside them every sample is blank, outside every sample is unchanged."""
    arr, photometric, planar, big_endian = image
    ds = native(arr, photometric=photometric, planar=planar, big_endian=big_endian)
    before = pixels(native(arr, photometric=photometric))
    report = clean_pixels(ds, PixelOptions(region_library=_library(boxes), ocr=OcrMode.OFF))
    frames, rows, columns = arr.shape[:3]
    expected = region_mask(rows, columns, [c for b in boxes if (c := b.clip(columns, rows)) is not None])
    for region in report.regions:
        r = region.rectangle
        assert 0 <= r.x and 0 <= r.y and r.x + r.width <= columns and r.y + r.height <= rows and r.width and r.height
    assert np.array_equal(region_mask(rows, columns, report.regions), expected)
    after = pixels(written(ds))
    assert np.array_equal(after[:, ~expected], before[:, ~expected])
    if expected.any():
        low = 0 if photometric == "RGB" or arr.dtype.kind == "u" else np.iinfo(arr.dtype).min
        high = np.iinfo(arr.dtype).max
        blank = high if photometric == "MONOCHROME1" else low
        assert np.all(after[:, expected] == blank)
