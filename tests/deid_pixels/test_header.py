"""The region library's header lookup: values read from raw bytes as conversion reads them, other elements left raw."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from pydicom.dataelem import DataElement, RawDataElement
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.tag import Tag

from qms.deid.peek import convert
from qms.deid.pixels.header import Header, _text, raw_text
from qms.deid.pixels.library import default_library

_TAGS = {"CS": 0x00080060, "LO": 0x00080070, "SH": 0x00081010, "LT": 0x00204000, "DS": 0x00281051,
         "UI": 0x00080016, "DA": 0x00080020, "US": 0x00280010, "SS": 0x00189219, "UL": 0x00081161}


@settings(max_examples=150, deadline=None)
@given(vr=st.sampled_from(sorted(_TAGS)), value=st.binary(max_size=12),
       text=st.text(alphabet=" \\\x00ABab09.^-", max_size=12), use_text=st.booleans(), explicit=st.booleans())
def test_text_from_raw_bytes_is_the_converted_text(vr: str, value: bytes, text: str, use_text: bool,
                                                   explicit: bool) -> None:
    """Where a raw value is read from its bytes, the text equals that of pydicom's conversion; else None."""
    data = text.encode() if use_text else value
    tag = Tag(_TAGS[vr])
    raw = RawDataElement(tag, vr if explicit else None, len(data), data, 0, not explicit, True)
    ds = Dataset()
    ds.set_original_encoding(not explicit, True, "iso8859")
    ds[tag] = raw
    fast = raw_text(raw)
    if fast is not None:
        assert fast == _text(convert(ds, raw))


def test_nested_lookup_converts_only_what_the_library_names() -> None:
    """The nested search finds CodeMeaning in an item and leaves every element it was not asked for raw."""
    item = Dataset()
    item.CodeMeaning = "IEC Body Dosimetry Phantom"
    item.CodeValue = "113691"
    ds = Dataset()
    ds.CTDIPhantomTypeCodeSequence = Sequence([item])
    ds[0x00081030] = RawDataElement(Tag(0x00081030), "LO", 4, b"CT  ", 0, False, True)
    header = Header(ds, default_library().tags)
    assert header.value(Tag(0x00080104)) == "IEC Body Dosimetry Phantom"
    assert header.value(Tag(0x0008103E)) == ""  # SeriesDescription: nowhere
    assert isinstance(ds.get_item(0x00081030), RawDataElement)


def test_file_meta_elements_are_part_of_the_header() -> None:
    """A file meta tag a rule names (ImplementationVersionName) is read from the file meta, as CTP reads it."""
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.ImplementationVersionName = "MINDRAY_1"
    ds.Modality = "US"
    ds.Rows, ds.Columns = 800, 1280
    header = Header(ds, default_library().tags)
    assert header.value(Tag(0x00020013)) == "MINDRAY_1"
    assert any("MINDRAY" in rule.title for rule in default_library().matching(ds))
    ds.file_meta[0x00020013] = DataElement(0x00020013, "SH", "OTHER")
    assert not any("MINDRAY" in rule.title for rule in default_library().matching(ds))
