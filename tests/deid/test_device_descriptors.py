"""Device descriptors keep the manufacturer, and a surrogate never spells another real identifier (issue 19)."""

from __future__ import annotations

from io import BytesIO

import numpy as np

from hypothesis import given, settings
from hypothesis import strategies as st
from pydicom import dcmread
from pydicom.filewriter import dcmwrite

from qms.deid.dataset import Deidentifier
from qms.deid.keying import DeidKey
from qms.deid.options import DeidOptions
from qms.deid.pixels import PixelOptions
from qms.deid.reader import deidentify_bytes
from qms.deid.residual_text import SourceValues, TextScan
from qms.deid.text import Deidentifier as TextDeidentifier
from qms.deid.text import Hints
from qms.synthetic_dicom import SyntheticPatient, synthetic_image

KEY = DeidKey(b"device-descriptor-test-key-32by!")


def _ct(manufacturer: str, name: str = "BROWN^JAMES") -> bytes:
    ds = synthetic_image(np.zeros((8, 8), np.uint16), modality="CT",
                         patient=SyntheticPatient(name=name, patient_id="DEV-0001"))
    ds.Manufacturer = manufacturer
    ds.ManufacturerModelName = "Fabrikam Imaging CT-9"
    out = BytesIO()
    dcmwrite(out, ds, enforce_file_format=True)
    return out.getvalue()


def test_a_manufacturer_that_looks_like_an_institution_is_kept_and_verify_is_clean() -> None:
    """A manufacturer such as "Contoso Radiology" is the device's maker, not PHI: it stays as written (so analyses by
    manufacturer still group its images) and the residual-PHI scan does not call it a leak."""
    source = _ct("Contoso Radiology")
    out = dcmread(BytesIO(deidentify_bytes(source, Deidentifier(KEY, DeidOptions()), PixelOptions()).data))
    assert out.Manufacturer == "Contoso Radiology"
    assert out.ManufacturerModelName == "Fabrikam Imaging CT-9"
    assert TextScan().findings("a.dcm", out, SourceValues.of(dcmread(BytesIO(source)))) == []


def test_a_patient_name_typed_into_a_device_descriptor_is_still_replaced() -> None:
    """The device rule spares organisations only: the patient's own name in Manufacturer is replaced."""
    out = dcmread(BytesIO(deidentify_bytes(_ct("Scanned for Brown James"), Deidentifier(KEY, DeidOptions()),
                                           PixelOptions()).data))
    assert "BROWN" not in out.Manufacturer.upper() and "JAMES" not in out.Manufacturer.upper()


@settings(max_examples=60, deadline=None)
@given(first=st.sampled_from(["James", "Mary", "John", "Linda", "Robert", "Maria", "David", "Anna"]),
       last=st.sampled_from(["Brown", "Smith", "Garcia", "Lee", "Wilson", "Young", "Hill"]),
       patient=st.text(alphabet="ABCDEFGH0123456789", min_size=4, max_size=8))
def test_no_surrogate_brings_in_a_word_of_the_patients_real_name(first: str, last: str, patient: str) -> None:
    """Whatever the key draws, an institution's or a name's surrogate never contains a word of the same file's real
    patient name (a surrogate equal to the real first name would be a leak for verify, and for a reader)."""
    text = f"Seen at Contoso Radiology and Northwind Diagnostics; referred by Dr. Carol Hale. Patient {last}, {first}."
    result = TextDeidentifier(KEY).deidentify(text, patient, Hints(names=(f"{last}^{first}",)))
    words = {w.strip(".,;").lower() for w in result.text.split()}
    assert first.lower() not in words and last.lower() not in words
