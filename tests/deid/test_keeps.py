"""No over-removal: what Annex E keeps, and what research needs, is still there after de-identification."""

from __future__ import annotations

import copy
from datetime import date
from io import BytesIO

from pydicom import dcmread
from pydicom.dataset import Dataset
from pydicom.filewriter import dcmwrite

from qms.deid.dataset import Deidentifier
from qms.deid.pixels import PixelOptions
from qms.deid.reader import deidentify_bytes

_KEPT = ("Modality", "Manufacturer", "ManufacturerModelName", "KVP", "SliceThickness", "PixelSpacing",
         "ImagePositionPatient", "ImageOrientationPatient", "Rows", "Columns", "BitsAllocated",
         "PhotometricInterpretation", "SOPClassUID", "InstanceNumber", "SeriesNumber", "PatientSex")


def _roundtrip(ds: Dataset, engine: Deidentifier) -> Dataset:
    source = BytesIO()
    dcmwrite(source, ds, enforce_file_format=True)
    return dcmread(BytesIO(deidentify_bytes(source.getvalue(), engine, PixelOptions()).data))


def _day(value: str) -> date:
    return date(int(value[:4]), int(value[4:6]), int(value[6:8]))


def test_modality_acquisition_geometry_sex_and_pixels_are_kept(ct: Dataset, engine: Deidentifier) -> None:
    """Modality, acquisition parameters, geometry, sex and the pixel data come out exactly as they went in."""
    out = _roundtrip(ct, engine)
    for keyword in _KEPT:
        assert out[keyword].value == ct[keyword].value, keyword
    assert out.PixelData == ct.PixelData


def test_age_is_kept_when_89_or_under_and_dates_keep_their_intervals(ct: Dataset, engine: Deidentifier) -> None:
    """A 57-year age stays; study and content dates move together, so their difference is unchanged."""
    ct.PatientAge = "057Y"
    ct.ContentDate = "20240110"
    ct.StudyDate = "20240105"
    out = _roundtrip(ct, engine)
    assert out.PatientAge == "057Y"
    assert out.StudyDate != ct.StudyDate
    assert (_day(out.ContentDate) - _day(out.StudyDate)).days == 5
    assert out.LongitudinalTemporalInformationModified == "MODIFIED"


def test_study_structure_survives_the_uid_mapping(ct: Dataset, engine: Deidentifier) -> None:
    """Two instances of one study keep one (new) StudyInstanceUID and one patient pseudonym."""
    other = copy.deepcopy(ct)
    other.SOPInstanceUID = "1.2.826.0.1.3680043.99.2"
    a, b = _roundtrip(ct, engine), _roundtrip(other, engine)
    assert a.StudyInstanceUID == b.StudyInstanceUID != ct.StudyInstanceUID
    assert a.SOPInstanceUID != b.SOPInstanceUID
    assert a.PatientID == b.PatientID
