"""Values read from a raw element's bytes, and values stored pre-encoded, are what pydicom's conversion gives."""

from __future__ import annotations

import random
import warnings
from io import BytesIO

from hypothesis import given, settings
from hypothesis import strategies as st
from pydicom import dcmread
from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.tag import Tag

from qms.deid.dataset import Deidentifier
from qms.deid.keying import DeidKey
from qms.deid.options import DeidOptions
from qms.deid.peek import assign, canonical_uid, peek_value, text
from qms.deid.synthetic import synthetic_ct
from qms.deid.writer import write_file
from qms.synthetic_dicom import synthetic_meta

from tests.deid.writing import dcmwritten, written_after_preamble

_BYTES = st.binary(max_size=14) | st.text(alphabet="AZaz09 .^=\\\x00\x1b-", max_size=14).map(str.encode)
# (tag, VR) of attributes whose dictionary VR is the one given, so they read the same as implicit VR
_TEXT_TAGS = {"UI": 0x00080018, "LO": 0x00100020, "SH": 0x00200010, "UC": 0x00080120, "PN": 0x00100010,
              "CS": 0x00080060, "LT": 0x00104000, "DA": 0x00080020}


@settings(max_examples=150, deadline=None)
@given(vr=st.sampled_from(sorted(_TEXT_TAGS)), value=_BYTES, implicit=st.booleans())
def test_text_is_the_converted_value_as_text(vr: str, value: bytes, implicit: bool) -> None:
    """`peek.text` and `peek_value` give `str(ds[tag].value)` ('' for None) and the value, for any bytes, explicit
    or implicit VR, without converting the element."""
    tag = _TEXT_TAGS[vr]
    ds = Dataset()
    raw = RawDataElement(Tag(tag), None if implicit else vr, len(value), value, 0, implicit, True)
    ds[tag] = raw
    ds.set_original_encoding(implicit, True, "iso8859")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        found, value = text(ds, tag), peek_value(ds, tag)
        assert ds.get_item(tag) is raw  # left as read
        converted = ds[tag].value
    assert found == ("" if converted is None else str(converted))
    assert value == converted and type(value) is type(converted)


@settings(max_examples=100, deadline=None)
@given(value=st.text(alphabet="0129. \x00\\", max_size=12).map(str.encode))
def test_a_canonical_uid_is_written_the_same_converted_or_not(value: bytes) -> None:
    """Where `canonical_uid` reads a UI from its bytes, writing it raw gives the bytes writing its conversion gives."""
    raw = RawDataElement(Tag(0x00081155), "UI", len(value), value, 0, False, True)
    uid = canonical_uid(raw)
    if uid is None:
        return
    kept, converted = Dataset(), Dataset()
    for ds in (kept, converted):
        ds[0x00081155] = raw
        ds.set_original_encoding(False, True, "iso8859")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert converted[0x00081155].value == uid
        assert written_after_preamble(kept) == written_after_preamble(converted)


@settings(max_examples=60, deadline=None)
@given(description=st.text(alphabet="AZaz09 .\\\x00-", max_size=40), charset=st.sampled_from([None, "ISO_IR 100"]))
def test_a_descriptor_cleaned_from_its_bytes_is_written_as_the_converted_one(description: str,
                                                                          charset: str | None) -> None:
    """Cleaning (C) a raw text descriptor from its bytes writes what cleaning its converted value writes."""
    ds = synthetic_ct(random.Random(3), patient=2, study=0, instance=1)
    ds.StudyDescription = description + " " + str(ds.PatientName).split("^")[0]
    if charset:
        ds.SpecificCharacterSet = charset
    source = dcmwritten(ds)
    engine = Deidentifier(DeidKey(bytes(range(32))), DeidOptions())
    outputs = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for convert_first in (False, True):
            read = dcmread(BytesIO(source))
            if convert_first:
                read[0x00081030]  # noqa: B018 - converted, as the engine did before it read raw bytes
            engine.deidentify(read)
            outputs.append(write_file(read))
    assert outputs[0] == outputs[1]


@settings(max_examples=60, deadline=None)
@given(value=st.text(alphabet="AZ09._ ", max_size=20), present=st.sampled_from(["raw", "converted", "absent"]),
       keyword=st.sampled_from(["ImplementationVersionName", "MediaStorageSOPInstanceUID"]))
def test_assigning_a_file_meta_value_writes_what_setting_the_keyword_writes(value: str, present: str,
                                                                           keyword: str) -> None:
    """`peek.assign` on the file meta writes the bytes `meta.<keyword> = value` writes, whatever was there."""
    tag = {"ImplementationVersionName": 0x00020013, "MediaStorageSOPInstanceUID": 0x00020003}[keyword]
    vr = "SH" if keyword == "ImplementationVersionName" else "UI"
    metas = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for fast in (True, False):
            meta = synthetic_meta("1.2.3", "1.2.3.4")
            if present != "absent":
                meta[tag] = RawDataElement(Tag(tag), vr, 6, b"OLD.1 ", 0, False, True)
                if present == "converted":
                    meta[tag]  # noqa: B018
            if fast:
                assign(meta, tag, value)
            else:
                setattr(meta, keyword, value)
            metas.append(meta)
        assert _meta_bytes(metas[0]) == _meta_bytes(metas[1])


def _meta_bytes(meta: FileMetaDataset) -> bytes | str:
    """The written file meta, or the kind of error writing it raises."""
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = "1.2.3"
    ds.set_original_encoding(False, True, "iso8859")
    try:
        return write_file(ds)[132:]
    except Exception as exc:  # an empty required value: both ways must refuse it alike
        return type(exc).__name__
