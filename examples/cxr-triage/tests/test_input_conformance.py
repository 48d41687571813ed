"""DICOM input conformance: what the input gate accepts and refuses (REQ-001..003, REQ-017, RC-004)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from conftest import MakeDicom
from qms.models.card import InputRequirements
from qms.models.errors import InputError
from qms.models.inference import predict
from qms.models.loaders import LoadedModel
from qms.models.preprocess import to_tensor


@pytest.mark.verifies("REQ-001")
def test_cr_and_dx_are_accepted_and_mr_is_refused(make_dicom: MakeDicom, spec: InputRequirements) -> None:
    """CR and DX images are accepted; an MR image is refused with a reason naming Modality (0008,0060)."""
    assert to_tensor(make_dicom(Modality="CR"), spec).shape == (1, 16, 16)
    assert to_tensor(make_dicom(Modality="DX"), spec).shape == (1, 16, 16)
    with pytest.raises(InputError) as refused:
        to_tensor(make_dicom(Modality="MR"), spec)
    assert "(0008,0060)" in str(refused.value.where)


@pytest.mark.verifies("REQ-002", "RC-004")
def test_an_object_without_pixel_data_is_refused(make_dicom: MakeDicom, spec: InputRequirements) -> None:
    """A DICOM object with no Pixel Data is refused as unreadable, naming (7FE0,0010), instead of being scored."""
    with pytest.raises(InputError) as refused:
        to_tensor(make_dicom(PixelData=None), spec)
    assert "(7FE0,0010)" in str(refused.value.where)


@pytest.mark.verifies("REQ-003", "RC-004")
def test_a_file_that_is_not_dicom_is_refused(tmp_path: Path, spec: InputRequirements) -> None:
    """A file that is not DICOM Part 10 is refused with an error naming the file."""
    fake = tmp_path / "report.dcm"
    fake.write_bytes(b"this is a text report, not an image\n" * 8)
    with pytest.raises(InputError) as refused:
        to_tensor(fake, spec)
    assert str(fake) in str(refused.value.where)


@pytest.mark.verifies("REQ-017", "RC-004")
def test_a_header_whose_bits_do_not_fit_is_refused(make_dicom: MakeDicom, spec: InputRequirements) -> None:
    """Pixel data that does not match Rows, Columns and Bits Allocated is refused rather than scored."""
    with pytest.raises(InputError) as refused:
        to_tensor(make_dicom(BitsAllocated=32, BitsStored=32, HighBit=31), spec)
    assert "(7FE0,0010)" in str(refused.value.where)


@pytest.mark.verifies("RC-004")
def test_an_unreadable_file_in_a_batch_gets_no_score(tmp_path: Path, make_dicom: MakeDicom, tiny_model: LoadedModel) -> None:
    """In a batch, an unreadable file gets no score (NaN) and a reason, and the readable ones are still scored."""
    broken = tmp_path / "broken.dcm"
    broken.write_bytes(b"DICM? no")
    files = [make_dicom(), broken, make_dicom()]
    result = predict(tiny_model, files, batch_size=2, device="cpu")
    assert set(result.failures) == {1}
    assert np.isnan(result.probabilities[1]).all()
    assert not np.isnan(result.probabilities[[0, 2]]).any()
