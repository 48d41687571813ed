"""The pixel transforms hold to the standard's definitions for any input (hypothesis)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from qms.models.errors import InputError
from qms.models.preprocess import normalise, resize_pad
from qms.models.transforms import VoiFunction, Window, invert, rescale_to_unit, window

unit_images = arrays(np.float32, st.tuples(st.just(1), st.integers(1, 24), st.integers(1, 24)),
                     elements=st.floats(0, 1, width=32))
values = arrays(np.float64, st.integers(1, 64), elements=st.floats(-5000, 5000))
windows = st.builds(Window, center=st.floats(-3000, 3000), width=st.floats(1, 6000),
                    function=st.sampled_from(list(VoiFunction)))


@settings(max_examples=60, deadline=None)
@given(unit_images)
def test_inversion_twice_is_identity(image: np.ndarray) -> None:
    """Presenting a MONOCHROME1 image twice inverted gives back the image itself."""
    np.testing.assert_allclose(invert(invert(image)), image, atol=1e-6)


@settings(max_examples=80, deadline=None)
@given(values, windows)
def test_window_output_is_in_unit_range_and_monotone(x: np.ndarray, w: Window) -> None:
    """Any window maps any modality values into [0, 1], never reversing their order."""
    y = window(x, w)
    assert y.min() >= 0.0 and y.max() <= 1.0
    order = np.argsort(x, kind="stable")
    assert np.all(np.diff(y[order].astype(np.float64)) >= -1e-6)


@settings(max_examples=60, deadline=None)
@given(st.floats(-1000, 1000), st.floats(2, 4000))
def test_linear_window_saturates_outside_its_bounds(c: float, w: float) -> None:
    """LINEAR: values at or below c - 0.5 - (w-1)/2 are black, above c - 0.5 + (w-1)/2 white (PS3.3 C.11.2.1.2.1)."""
    lo, hi = c - 0.5 - (w - 1) / 2, c - 0.5 + (w - 1) / 2
    y = window(np.array([lo - 1, lo, hi + 1e-3, hi + 1]), Window(c, w))
    np.testing.assert_allclose(y, [0, 0, 1, 1], atol=1e-3)


def test_invalid_window_is_refused_with_its_tags() -> None:
    """A LINEAR window narrower than 1 is refused, naming Window Center/Width."""
    with pytest.raises(InputError, match="not valid") as err:
        Window(100, 0.5)
    assert "(0028,1051)" in str(err.value.where)


@settings(max_examples=40, deadline=None)
@given(unit_images, st.integers(4, 32), st.floats(0.5, 2.0))
def test_resize_pad_fits_without_distortion(image: np.ndarray, size: int, aspect: float) -> None:
    """The image fills the long side, keeps its physical proportions, and is padded with black."""
    out = resize_pad(np.ones_like(image), size, aspect=aspect)
    assert out.shape == (1, size, size)
    rows = int((out[0].amax(dim=1) > 0.5).sum())
    cols = int((out[0].amax(dim=0) > 0.5).sum())
    height, width = image.shape[1] * aspect, image.shape[2]
    assert max(rows, cols) == size
    expected = min(height, width) / max(height, width) * size
    assert abs(min(rows, cols) - expected) <= 1.5
    assert 0.0 <= float(resize_pad(image, size, aspect=aspect).min())


def test_rescale_flat_range_is_black() -> None:
    """An image of one value (no range to window) maps to black rather than dividing by zero."""
    assert rescale_to_unit(np.full(4, 7.0), 7.0, 7.0).tolist() == [0.0] * 4


def test_normalise_uses_the_cards_mean_and_std() -> None:
    """Normalisation is (x - mean) / std per channel, as the model card states."""
    x = torch.full((2, 2, 2), 0.75)
    out = normalise(x, [0.5, 0.25], [0.25, 0.5])
    assert out[0].unique().tolist() == [1.0] and out[1].unique().tolist() == [1.0]
