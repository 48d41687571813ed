"""The pixel pipeline the model sees (REQ-004..006): rescale, MONOCHROME1, unit range."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import MakeDicom, read
from qms.models.card import InputRequirements
from qms.models.display import display_image
from qms.models.preprocess import to_tensor


@pytest.mark.verifies("REQ-004")
def test_monochrome1_is_inverted(make_dicom: MakeDicom) -> None:
    """In a MONOCHROME1 image the highest stored value is shown black, as the lowest is in MONOCHROME2."""
    stored = np.array([[0, 4095], [2048, 1024]], dtype=np.uint16)
    mono1 = display_image(read(make_dicom(stored, PhotometricInterpretation="MONOCHROME1")), "mono1").pixels[0]
    mono2 = display_image(read(make_dicom(stored)), "mono2").pixels[0]
    assert mono1[0, 1] == pytest.approx(0.0) and mono2[0, 1] == pytest.approx(1.0)
    np.testing.assert_allclose(mono1, 1.0 - mono2, atol=1e-6)


@pytest.mark.verifies("REQ-005")
def test_rescale_slope_and_intercept_come_before_the_window(make_dicom: MakeDicom) -> None:
    """The window is applied to rescaled values: with slope 2 and intercept -1000, stored 500 is the window's centre 0."""
    stored = np.array([[0, 500], [1000, 250]], dtype=np.uint16)
    path = make_dicom(stored, RescaleSlope=2, RescaleIntercept=-1000, WindowCenter=0, WindowWidth=1000)
    unit = display_image(read(path), "rescaled").pixels[0]
    assert unit[0, 1] == pytest.approx(0.5, abs=0.01)
    assert unit[0, 0] == pytest.approx(0.0) and unit[1, 0] == pytest.approx(1.0)


@pytest.mark.verifies("REQ-006")
def test_model_input_is_in_the_unit_interval_for_any_bit_depth(make_dicom: MakeDicom, spec: InputRequirements) -> None:
    """Whatever the stored bit depth (8, 12 or 16 bits), every model input value lies in [0, 1]."""
    rng = np.random.default_rng(7)
    for bits in (8, 12, 16):
        stored = rng.integers(0, 2**bits, size=(16, 16), dtype=np.uint16)
        tensor = to_tensor(make_dicom(stored, BitsStored=bits, HighBit=bits - 1), spec)
        assert float(tensor.min()) >= 0.0 and float(tensor.max()) <= 1.0
