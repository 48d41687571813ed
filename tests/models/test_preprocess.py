"""A DICOM image becomes the model's tensor as the standard's pixel pipeline says, or a named error."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from pydicom.dataset import Dataset
from pydicom.uid import RLELossless

from qms.models.card import InputRequirements, WindowSpec
from qms.models.errors import InputError
from qms.models.display import display_image, read_dataset
from qms.models.preprocess import to_tensor
from qms.models.transforms import Window, window
from tests.models.helpers import dicom, write

SPEC = InputRequirements(modalities=("DX", "CR"), image_size=32, channels=1, mean=(0.0,), std=(1.0,))
STORED = (np.arange(40 * 30).reshape(40, 30) * 3 % 4096).astype(np.uint16)


def _tensor(tmp_path: Path, ds: Dataset, name: str = "x.dcm", spec: InputRequirements = SPEC) -> torch.Tensor:
    out: torch.Tensor = to_tensor(write(ds, tmp_path / name), spec)
    return out


def test_monochrome1_is_presented_inverted(tmp_path: Path) -> None:
    """The same anatomy stored MONOCHROME1 (inverted values) and MONOCHROME2 gives the same tensor."""
    mono2 = _tensor(tmp_path, dicom(STORED), "m2.dcm")
    mono1 = _tensor(tmp_path, dicom((4095 - STORED).astype(np.uint16), photometric="MONOCHROME1"), "m1.dcm")
    torch.testing.assert_close(mono1, mono2, atol=1e-5, rtol=0)


def test_rescale_is_applied_before_the_window(tmp_path: Path) -> None:
    """Rescale Slope/Intercept (Modality LUT) is applied first: the window is in modality units."""
    plain = _tensor(tmp_path, dicom(STORED, WindowCenter=1000, WindowWidth=800), "a.dcm")
    rescaled = _tensor(tmp_path, dicom(STORED, RescaleSlope=2, RescaleIntercept=-1000,
                                       WindowCenter=1000, WindowWidth=1600), "b.dcm")
    assert not torch.allclose(plain, rescaled)
    expected = display_image(dicom(STORED, WindowCenter=1000, WindowWidth=800), "x").pixels
    values = STORED.astype(np.float64) * 2 - 1000
    manual = np.clip((values - 999.5) / 1599 + 0.5, 0, 1)
    np.testing.assert_allclose(display_image(dicom(STORED, RescaleSlope=2, RescaleIntercept=-1000, WindowCenter=1000,
                                                   WindowWidth=1600), "x").pixels[0], manual, atol=1e-6)
    assert expected.shape == (1, 40, 30)


def test_card_window_overrides_the_files_window(tmp_path: Path) -> None:
    """A window stated in the model card is used instead of the file's own VOI attributes."""
    spec = InputRequirements(**{**SPEC.model_dump(), "window": WindowSpec(center=100.0, width=50.0)})
    square = (np.arange(32 * 32).reshape(32, 32) * 4 % 4096).astype(np.uint16)
    out = _tensor(tmp_path, dicom(square, WindowCenter=2048, WindowWidth=4096), spec=spec)
    torch.testing.assert_close(out[0], torch.from_numpy(window(square, Window(100.0, 50.0))))


def test_voi_lut_sequence_is_applied(tmp_path: Path) -> None:
    """A VOI LUT Sequence maps stored values through its table, scaled by the LUT's bit depth."""
    ds = dicom(STORED)
    item = Dataset()
    item.LUTDescriptor = [4096, 0, 16]
    item.LUTData = [65535 - 16 * v for v in range(4096)]
    ds.VOILUTSequence = [item]
    shown = display_image(ds, "x").pixels[0]
    np.testing.assert_allclose(shown, (65535 - 16 * STORED.astype(np.float64)) / 65535.0, atol=1e-6)


def test_compressed_transfer_syntax_decodes_like_uncompressed(tmp_path: Path) -> None:
    """An RLE Lossless image gives exactly the tensor of its uncompressed original."""
    compressed = dicom(STORED)
    compressed.compress(RLELossless)
    torch.testing.assert_close(_tensor(tmp_path, compressed, "rle.dcm"), _tensor(tmp_path, dicom(STORED), "raw.dcm"))


def test_colour_image_becomes_luminance(tmp_path: Path) -> None:
    """An RGB image for a one-channel model becomes its BT.601 luminance."""
    rgb = np.zeros((8, 8, 3), np.uint8)
    rgb[..., 1] = 255
    shown = to_tensor(write(dicom(rgb, photometric="RGB"), tmp_path / "rgb.dcm"),
                      SPEC.model_copy(update={"image_size": 8}))
    torch.testing.assert_close(shown, torch.full((1, 8, 8), 0.587), atol=1e-3, rtol=0)


def test_pixel_spacing_keeps_the_patients_proportions(tmp_path: Path) -> None:
    """Pixels twice as tall as wide are resized to the image's physical shape, padded, not stretched."""
    ds = dicom(np.full((20, 40), 4000, np.uint16), ImagerPixelSpacing=[0.4, 0.2], WindowCenter=2048, WindowWidth=4096)
    out = _tensor(tmp_path, ds)
    assert int((out[0].amax(dim=1) > 0.5).sum()) == 32 and int((out[0].amax(dim=0) > 0.5).sum()) == 32
    flat = _tensor(tmp_path, dicom(np.full((20, 40), 4000, np.uint16), WindowCenter=2048, WindowWidth=4096), "f.dcm")
    assert int((flat[0].amax(dim=1) > 0.5).sum()) == 16


def test_image_without_pixel_data_is_refused_naming_file_and_tag(tmp_path: Path) -> None:
    """A DICOM object without Pixel Data is refused, naming the file and (7FE0,0010)."""
    ds = dicom()
    del ds.PixelData
    path = write(ds, tmp_path / "nopixels.dcm")
    with pytest.raises(InputError, match="no Pixel Data") as err:
        to_tensor(path, SPEC)
    assert err.value.where == f"{path} (7FE0,0010)"


def test_unsupported_photometric_is_refused_naming_the_tag(tmp_path: Path) -> None:
    """A Photometric Interpretation outside the supported set is refused, naming (0028,0004)."""
    path = write(dicom(STORED, photometric="HSV"), tmp_path / "hsv.dcm")
    with pytest.raises(InputError, match="unsupported Photometric Interpretation 'HSV'") as err:
        to_tensor(path, SPEC)
    assert err.value.where == f"{path} (0028,0004)"


def test_modality_outside_the_card_is_refused(tmp_path: Path) -> None:
    """An image of a modality the card does not accept (e.g. CT into a CXR model) is refused."""
    path = write(dicom(STORED, modality="CT"), tmp_path / "ct.dcm")
    with pytest.raises(InputError, match="Modality 'CT'") as err:
        to_tensor(path, SPEC)
    assert "(0008,0060)" in str(err.value.where)


def test_multi_frame_and_non_dicom_files_are_refused(tmp_path: Path) -> None:
    """A multi-frame object and a file that is not DICOM are both refused with the file named."""
    multi = dicom(np.zeros((2, 4, 4), np.uint16).reshape(2, 4, 4)[0], NumberOfFrames=2)
    with pytest.raises(InputError, match="multi-frame"):
        to_tensor(write(multi, tmp_path / "multi.dcm"), SPEC)
    junk = tmp_path / "junk.dcm"
    junk.write_bytes(b"not dicom at all")
    with pytest.raises(InputError, match="not a DICOM file") as err:
        read_dataset(junk)
    assert err.value.where == str(junk)


def test_malformed_pixel_attributes_are_a_named_input_error(tmp_path: Path) -> None:
    """Pixel Data that does not fit Rows x Columns is this file's input error, not a crash of the run."""
    path = write(dicom(STORED, Rows=400), tmp_path / "short.dcm")
    with pytest.raises(InputError) as err:
        to_tensor(path, SPEC)
    assert str(path) in str(err.value.where)
