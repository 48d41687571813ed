"""Reading an element's value without converting it in the dataset.

`ds[tag]` converts a raw element and stores the conversion, and `dcmwrite` then re-encodes
it: slower, and its bytes may differ from the input's (padding, number formatting). The
de-identifier reads many elements only to decide (Modality, Rows, the region library's
conditions...): `peek` converts a copy, so a kept element is written back exactly as read.
A replacement value that is ASCII text is stored already encoded (`replaced`), as pydicom
would encode it, so it is neither validated nor encoded again on writing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydicom.charset import default_encoding
from pydicom.dataelem import DataElement, RawDataElement, convert_raw_data_element
from pydicom.datadict import dictionary_VR
from pydicom.dataset import Dataset
from pydicom.tag import BaseTag
from pydicom.valuerep import AMBIGUOUS_VR

__all__ = ["ascii_values", "convert", "map_default_repertoire", "peek", "peek_value", "replaced"]

_CHARSET_TAG = 0x00080005
_UNDEFINED = 0xFFFFFFFF
DEFAULT_REPERTOIRE_VRS = frozenset({"UI", "DA", "DT", "TM", "AS"})
"""VRs pydicom decodes with the default character repertoire, whatever the Specific Character Set."""
INTEGERS = {"US": (2, False), "SS": (2, True), "UL": (4, False), "SL": (4, True)}  # bytes, signed
_ASCII_VALUE_VRS = frozenset({"AE", "CS", "DA", "DT", "LO", "LT", "PN", "SH", "ST", "TM", "UC", "UT"})
_ONE_VALUE_VRS = frozenset({"LT", "ST", "UT"})  # text VRs with one value, backslashes included (PS3.5 §6.2)
_STRING_VRS = frozenset({"AE", "AS", "CS", "DA", "DT", "LO", "LT", "PN", "SH", "ST", "TM", "UC", "UI", "UR", "UT"})


def peek(ds: Dataset, tag: int) -> DataElement | None:
    """The element `ds[tag]` would give, or None when absent; the dataset keeps its raw element."""
    elem = ds.get_item(tag)
    if not isinstance(elem, RawDataElement):
        return elem
    return convert(ds, elem)


def convert(ds: Dataset, elem: RawDataElement) -> DataElement:
    """`elem`, an element of `ds` as read, converted as `ds[tag]` converts it, without storing it
    (except a sequence, an ambiguous VR or a deferred value, which only pydicom's own path gets right)."""
    tag = elem.tag
    stored: object = ds.get_item(tag)
    current = stored is elem
    if current and elem.value is None and elem.length != 0:  # deferred read: let pydicom read it
        return ds[tag]
    charset = default_encoding if tag == _CHARSET_TAG else (ds.original_character_set or ds._character_set)
    converted = convert_raw_data_element(elem, encoding=charset, ds=ds)
    if current and (converted.VR == "SQ" or converted.VR in AMBIGUOUS_VR):  # pydicom fixes these up as it stores them
        return ds[tag]
    return converted


def peek_value(ds: Dataset, tag: int, default: Any = None) -> Any:
    """The element's value (as `ds.get(keyword)` gives it), or `default` when absent."""
    raw = ds.get_item(tag)
    if isinstance(raw, RawDataElement) and isinstance(raw.value, bytes):
        integer = INTEGERS.get(raw.VR if raw.VR is not None else _dictionary_vr(tag))
        if integer is not None and len(raw.value) == integer[0]:  # one integer: what conversion gives
            return int.from_bytes(raw.value, "little" if raw.is_little_endian else "big", signed=integer[1])
    elem = peek(ds, tag)
    return default if elem is None else elem.value


def map_default_repertoire(ds: Dataset, tag: int, vr: str, fn: Callable[[str], str]) -> bool:
    """Map each value of a raw UI, DA, DT, TM or AS element with `fn`, straight from its bytes (as
    pydicom decodes them: default repertoire, trailing spaces and NULs dropped, split at backslashes);
    False where the element is not such a raw element (the caller converts it)."""
    raw = ds.get_item(tag)
    if (not isinstance(raw, RawDataElement) or vr not in DEFAULT_REPERTOIRE_VRS
            or not isinstance(raw.value, bytes) or raw.length == _UNDEFINED):
        return False
    items = raw.value.decode(default_encoding).rstrip(" \x00").split("\\")
    if items != [""]:  # an empty value stays as it is
        ds[tag] = _encoded(raw.tag, raw.VR, vr, "\\".join(fn(v) for v in items), raw.is_implicit_VR,
                           raw.is_little_endian)
    return True


def replaced(ds: Dataset, tag: int, vr: str, value: object) -> DataElement | RawDataElement:
    """The element that replaces `ds[tag]` with `value` (None: empty), pre-encoded where the value is
    ASCII text of a string VR, or empty, and the element is as read (so its encoding is known)."""
    raw = ds.get_item(tag)
    if (isinstance(raw, RawDataElement) and (value is None or (isinstance(value, str) and vr in _STRING_VRS
                                                                and value.isascii()))
            and not (raw.VR is None and vr != _dictionary_vr(tag))):
        return _encoded(raw.tag, raw.VR, vr, value or "", raw.is_implicit_VR, raw.is_little_endian)
    return DataElement(tag, vr, value)


def _encoded(tag: BaseTag, read_vr: str | None, vr: str, text: str, implicit: bool, little: bool) -> RawDataElement:
    """Text encoded as pydicom's writer encodes a str of this VR: latin-1 (ASCII here), padded to even."""
    if vr == "UI":  # as pydicom's UID keeps it: surrounding spaces dropped
        text = "\\".join(part.strip() for part in text.split("\\")) if "\\" in text else text.strip()
    data = text.encode(default_encoding)
    if len(data) & 1:
        data += b"\x00" if vr == "UI" else b" "
    return RawDataElement(tag, vr if read_vr is not None else None, len(data), data, 0, implicit, little, True, False)


def _dictionary_vr(tag: int) -> str | None:
    try:
        return str(dictionary_VR(tag))
    except KeyError:
        return None


def ascii_values(raw: RawDataElement) -> tuple[list[str] | None, str]:
    """The values of a raw string element whose bytes are plain ASCII (no ISO 2022 escape), and its VR,
    read as they read in any character set (trailing spaces and NULs dropped, split at backslashes);
    (None, "") where only pydicom's conversion can tell."""
    vr = raw.VR if raw.VR is not None else _dictionary_vr(raw.tag)
    value = raw.value
    if vr not in _ASCII_VALUE_VRS or not isinstance(value, bytes) or not value.isascii() or b"\x1b" in value:
        return None, ""
    text = value.decode("ascii").rstrip("\x00 ")
    if not text:
        return [], vr
    return ([text] if vr in _ONE_VALUE_VRS else text.split("\\")), vr
