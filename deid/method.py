"""The attributes that record the de-identification (PS3.15 §E.1.1, PS3.3 §C.7.1.1).

PatientIdentityRemoved YES, DeidentificationMethod (text), DeidentificationMethodCodeSequence
(CID 7050 codes for the profile and each option applied) and
LongitudinalTemporalInformationModified (MODIFIED, UNMODIFIED or REMOVED).
"""

from __future__ import annotations

from functools import lru_cache

from pydicom.dataelem import DataElement, RawDataElement
from pydicom.filebase import DicomBytesIO
from pydicom.filewriter import write_sequence
from pydicom.tag import BaseTag
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

from qms.deid.options import DeidOptions
from qms.deid.profile import BASIC_PROFILE_CODE, ProfileOption

__all__ = ["method_codes", "record_method"]


def record_method(ds: Dataset, options: DeidOptions, *, pixels_cleaned: bool, implicit_vr: bool = False,
                  little_endian: bool = True) -> None:
    """Write the de-identification attributes into `ds`, built once per options and encoding, then shared:
    the code sequence is inserted already encoded, which saves a third of the writing time."""
    for elem in _elements(options.options, pixels_cleaned, implicit_vr, little_endian):
        ds[elem.tag] = elem  # a RawDataElement is written as it is


def method_codes(options: frozenset[ProfileOption], pixels_cleaned: bool) -> list[tuple[str, str]]:
    """(code, meaning) of CID 7050 for the Basic Profile and each option applied."""
    applied = [o for o in sorted(options, key=lambda o: o.code)
               if o is not ProfileOption.CLEAN_PIXEL_DATA or pixels_cleaned]
    return [BASIC_PROFILE_CODE, *((o.code, o.meaning) for o in applied)]


@lru_cache(maxsize=16)
def _elements(options: frozenset[ProfileOption], pixels_cleaned: bool, implicit_vr: bool,
              little_endian: bool) -> tuple[DataElement | RawDataElement, ...]:
    codes = method_codes(options, pixels_cleaned)
    items = []
    for code, meaning in codes:
        item = Dataset()
        item.CodeValue = code
        item.CodingSchemeDesignator = "DCM"
        item.CodeMeaning = meaning
        items.append(item)
    if ProfileOption.RETAIN_LONG_MODIFIED_DATES in options:
        temporal = "MODIFIED"
    elif ProfileOption.RETAIN_LONG_FULL_DATES in options:
        temporal = "UNMODIFIED"
    else:
        temporal = "REMOVED"
    return (
        DataElement(0x00120062, "CS", "YES"),  # PatientIdentityRemoved
        DataElement(0x00120063, "LO", [meaning[:64] for _, meaning in codes]),  # LO: 64 characters a value
        _encoded(DataElement(0x00120064, "SQ", Sequence(items)), implicit_vr, little_endian),
        DataElement(0x00280303, "CS", temporal),  # LongitudinalTemporalInformationModified
    )


def _encoded(elem: DataElement, implicit_vr: bool, little_endian: bool) -> RawDataElement:
    """`elem` (DeidentificationMethodCodeSequence) as the raw bytes of its value in one encoding."""
    fp = DicomBytesIO()
    fp.is_implicit_VR = implicit_vr
    fp.is_little_endian = little_endian
    write_sequence(fp, elem, ["iso8859"])
    value = fp.getvalue()
    return RawDataElement(BaseTag(elem.tag), "SQ", len(value), value, 0, implicit_vr, little_endian, True)
