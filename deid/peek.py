"""Reading an element's value without converting it in the dataset.

`ds[tag]` converts a raw element and stores the conversion, and `dcmwrite` then re-encodes
it: slower, and its bytes may differ from the input's (padding, number formatting). The
de-identifier reads many elements only to decide (Modality, Rows, the region library's
conditions...): `peek` converts a copy, so a kept element is written back exactly as read.
A replacement value that is ASCII text is stored already encoded (`replaced`), as pydicom
would encode it, so it is neither validated nor encoded again on writing. Identifying values
and UIDs are read from a raw element's bytes where those are plain ASCII (`text`,
`canonical_uid`), exactly as its conversion reads them (tests/deid/test_raw_reads.py).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, cast

from pydicom.charset import default_encoding
from pydicom.dataelem import DataElement, RawDataElement, convert_raw_data_element
from pydicom.datadict import dictionary_VR
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.multival import MultiValue
from pydicom.tag import BaseTag, Tag
from pydicom.valuerep import AMBIGUOUS_VR

__all__ = ["INTEGERS", "TEXT_VRS", "ascii_values", "assign", "canonical_uid", "convert", "dictionary_vr", "element_at",
           "element_vr", "is_empty", "mapped", "mapped_text", "peek", "peek_value", "plain_text", "raw_integer",
           "replaced", "store", "stored", "tag_of", "text", "text_values", "transfer_syntax", "uid_as_written",
           "value_texts"]

_CHARSET_TAG, _TRANSFER_SYNTAX = 0x00080005, 0x00020010
_UNDEFINED = 0xFFFFFFFF
DEFAULT_REPERTOIRE_VRS = frozenset({"UI", "DA", "DT", "TM", "AS"})
"""VRs pydicom decodes with the default character repertoire, whatever the Specific Character Set."""
INTEGERS = {"US": (2, False), "SS": (2, True), "UL": (4, False), "SL": (4, True)}  # bytes, signed
_ASCII_VALUE_VRS = frozenset({"AE", "CS", "DA", "DT", "LO", "LT", "PN", "SH", "ST", "TM", "UC", "UT"})
TEXT_VRS = frozenset({"LO", "LT", "SH", "ST", "UC", "UT"})  # text decoded in the dataset's character set
_ONE_VALUE_VRS = frozenset({"LT", "ST", "UT"})  # text VRs with one value, backslashes included (PS3.5 §6.2)
_TEXT_ONE_VALUE_VRS = frozenset({"LO", "SH", "UC"})  # converted by convert_text: split, then each rstripped
_STRING_VRS = frozenset({"AE", "AS", "CS", "DA", "DT", "LO", "LT", "PN", "SH", "ST", "TM", "UC", "UI", "UR", "UT"})


def element_at(ds: Dataset, tag: int) -> DataElement | RawDataElement | None:
    """The element of `ds` as it is stored, or None, looked up by a plain int (a BaseTag hashes and
    compares as its int): `get_item` first builds a BaseTag, which costs more than the look-up."""
    elements: Mapping[int, DataElement | RawDataElement] = ds._dict  # type: ignore[assignment]
    return elements.get(tag)


def stored(ds: Dataset, tag: int) -> DataElement | RawDataElement | None:
    """`ds.get_item(tag)` for a plain int tag: the element as stored, or None (a deferred one is read,
    as `get_item` reads it)."""
    elem = element_at(ds, tag)
    if isinstance(elem, RawDataElement) and elem.value is None:
        return cast(DataElement | None, ds.get_item(tag))
    return elem


def peek(ds: Dataset, tag: int) -> DataElement | None:
    """The element `ds[tag]` would give, or None when absent; the dataset keeps its raw element."""
    elem = stored(ds, tag)
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


def text(ds: Dataset, tag: int) -> str:
    """`str(ds[tag].value)`, "" when absent or valueless; a raw one-valued ASCII UI, LO, SH, UC, PN or CS read
    from its bytes as its conversion reads it (no conversion, no validation), any other by converting a copy."""
    raw = element_at(ds, tag)  # what `get_item` gives, deferred reads aside
    if type(raw) is RawDataElement and type(raw.value) is bytes:
        found = plain_text(raw.value, raw.VR if raw.VR is not None else dictionary_vr(tag))
        if found is not None:
            return found
    elem = peek(ds, tag)
    return "" if elem is None or elem.value is None else str(elem.value)


def plain_text(value: bytes, vr: str | None) -> str | None:
    """The one value of a UI, LO, SH, UC, PN or CS as pydicom converts it, where its bytes are ASCII with no
    backslash (several values), ISO 2022 escape or PN component group: None where conversion must tell."""
    if not value.isascii() or b"\\" in value or b"\x1b" in value:
        return None
    if vr == "UI":  # convert_UI, then UID(): padding and surrounding space dropped
        return value.decode("ascii").rstrip("\x00 ").strip()
    if vr in _TEXT_ONE_VALUE_VRS:  # convert_text
        return value.decode("ascii").rstrip("\x00 ")
    if vr == "PN" and b"=" not in value:  # convert_PN; str(PersonName) of one component group
        return value.rstrip(b"\x00 ").decode("ascii")
    if vr == "CS":  # convert_string
        return value.decode("ascii").rstrip(" \x00")
    return None


def canonical_uid(raw: RawDataElement) -> str | None:
    """The UID of a raw UI element whose bytes are exactly what writing its conversion gives (so converting
    it changes nothing that is written); None where they are not, or only conversion can tell."""
    value = raw.value
    if type(value) is not bytes or raw.VR not in ("UI", None) or (raw.VR is None and dictionary_vr(raw.tag) != "UI"):
        return None
    uid = plain_text(value, "UI")
    if uid is None or value != (uid.encode("ascii") + b"\x00" if len(uid) & 1 else uid.encode("ascii")):
        return None
    return uid


def uid_as_written(ds: Dataset, tag: int) -> Any:
    """A UI attribute's value (None when absent), the element converted in `ds` (as `ds.get(tag)` and dcmwrite
    convert it) unless its bytes are already what writing that conversion gives: then read from them, left raw."""
    raw = element_at(ds, tag)
    if raw is None:
        return None
    if type(raw) is RawDataElement:
        uid = canonical_uid(raw)
        if uid is not None:
            return uid
    return ds[tag].value


def transfer_syntax(meta: Dataset) -> Any:
    """`meta.get("TransferSyntaxUID")`, without the keyword look-up once the element is converted (as
    reading the file converts it)."""
    elem = element_at(meta, _TRANSFER_SYNTAX)
    return elem.value if type(elem) is DataElement else meta.get("TransferSyntaxUID")


def peek_value(ds: Dataset, tag: int, default: Any = None) -> Any:
    """The element's value (as `ds.get(keyword)` gives it), or `default` when absent."""
    raw = stored(ds, tag)
    if isinstance(raw, RawDataElement) and isinstance(raw.value, bytes):
        vr = raw.VR if raw.VR is not None else dictionary_vr(tag)
        number = raw_integer(raw, vr)
        if number is not None:
            return number
        if vr == "CS" and raw.length != _UNDEFINED:
            found = plain_text(raw.value, vr)
            if found is not None:
                return found
    elem = peek(ds, tag)
    return default if elem is None else elem.value


def raw_integer(raw: RawDataElement, vr: str | None) -> int | None:
    """The one US, SS, UL or SL value of a raw element (`raw.value` its bytes), as conversion gives it;
    None for any other VR or length."""
    integer, value = INTEGERS.get(vr), raw.value  # type: ignore[arg-type]
    if integer is None or type(value) is not bytes or len(value) != integer[0]:
        return None
    return int.from_bytes(value, "little" if raw.is_little_endian else "big", signed=integer[1])


def text_values(value: bytes, vr: str | None) -> list[str] | None:
    """The values of an LO, LT, SH, ST, UC or UT value as pydicom's `convert_text` reads them (split at
    backslashes but for LT, ST and UT, each right-stripped), where its bytes are plain ASCII (no ISO 2022
    escape: the same in every character set); None where conversion must tell."""
    if vr not in TEXT_VRS or not value.isascii() or b"\x1b" in value:
        return None
    text = value.decode("ascii")
    return [text.rstrip("\x00 ")] if vr in _ONE_VALUE_VRS else [v.rstrip("\x00 ") for v in text.split("\\")]


def mapped(raw: RawDataElement, vr: str, fn: Callable[[str], str]) -> RawDataElement | None:
    """`raw` (a UI, DA, DT, TM or AS element as read) with each value mapped by `fn`, straight from its
    bytes (as pydicom decodes them: default repertoire, trailing spaces and NULs dropped, split at
    backslashes); `raw` itself when empty; None where it is not such an element (the caller converts it)."""
    if vr not in DEFAULT_REPERTOIRE_VRS or not isinstance(raw.value, bytes) or raw.length == _UNDEFINED:
        return None
    items = raw.value.decode(default_encoding).rstrip(" \x00").split("\\")
    if items == [""]:  # an empty value stays as it is
        return raw
    return _encoded(raw.tag, raw.VR, vr, "\\".join(fn(v) for v in items), raw.is_implicit_VR, raw.is_little_endian)


def assign(ds: Dataset, tag: int, value: object) -> None:
    """`ds.<keyword> = value` for a standard attribute, without first converting the value it replaces: an
    element as read becomes a new one with the VR it was read with (what converting it would have kept).
    In the file meta (always explicit VR little endian) ASCII text of the attribute's own VR that reads
    back as itself is stored already encoded, as writing the new element would encode it."""
    elem = element_at(ds, tag)
    vr = dictionary_vr(tag)
    if (isinstance(ds, FileMetaDataset) and isinstance(value, str) and value.isascii() and vr in _STRING_VRS
            and (elem is None or (elem.VR == vr and _defined_length(elem)))):
        if type(elem) is DataElement and type(elem.value) is type(value) and elem.value == value:
            return
        key = Tag(tag) if elem is None else elem.tag
        encoded = _encoded(key, vr, vr, value, False, True)
        if plain_text(cast(bytes, encoded.value), vr) == value:  # reads back as `value`: any writer writes it so
            ds._dict[key] = encoded
            return
    if type(elem) is DataElement:
        elem.value = value
    elif (type(elem) is RawDataElement and elem.value is not None and elem.length != _UNDEFINED
          and elem.VR is not None and elem.VR == dictionary_vr(tag)):
        ds[tag] = DataElement(elem.tag, elem.VR, value)
    elif elem is None:
        ds[tag] = DataElement(tag, dictionary_VR(tag), value)
    else:
        ds[tag].value = value


def _defined_length(elem: DataElement | RawDataElement) -> bool:
    if isinstance(elem, RawDataElement):
        return elem.value is not None and elem.length != _UNDEFINED
    return not elem.is_undefined_length


def replaced(ds: Dataset, tag: int, vr: str, value: object) -> DataElement | RawDataElement:
    """The element that replaces `ds[tag]` with `value` (None: empty), pre-encoded where the value is
    ASCII text of a string VR, or empty, and the element is as read (so its encoding is known)."""
    raw = stored(ds, tag)
    if (isinstance(raw, RawDataElement) and (value is None or (isinstance(value, str) and vr in _STRING_VRS
                                                                and value.isascii()))
            and not (raw.VR is None and vr != dictionary_vr(tag))):
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


def dictionary_vr(tag: int) -> str | None:
    """The data dictionary's VR of a tag, None for a private or unknown one."""
    try:
        return str(dictionary_VR(tag))
    except KeyError:
        return None


def ascii_values(raw: RawDataElement) -> tuple[list[str] | None, str]:
    """The values of a raw string element whose bytes are plain ASCII (no ISO 2022 escape), and its VR,
    read as they read in any character set (trailing spaces and NULs dropped, split at backslashes);
    (None, "") where only pydicom's conversion can tell."""
    vr = raw.VR if raw.VR is not None else dictionary_vr(raw.tag)
    value = raw.value
    if vr not in _ASCII_VALUE_VRS or not isinstance(value, bytes) or not value.isascii() or b"\x1b" in value:
        return None, ""
    text = value.decode("ascii").rstrip("\x00 ")
    if not text:
        return [], vr
    return ([text] if vr in _ONE_VALUE_VRS else text.split("\\")), vr


def tag_of(item: tuple[int, object]) -> int:
    """A sort key for `ds.items()`: the tag as a plain int (BaseTag compares in Python)."""
    return int(item[0])


def element_vr(ds: Dataset, tag: int, elem: DataElement | RawDataElement | None = None) -> str:
    """The element's VR without converting its value, where the file or the dictionary says it plainly."""
    raw = ds.get_item(tag) if elem is None else elem
    vr = raw.VR if raw is not None else None
    if vr is None:  # implicit VR: the data dictionary's, for a standard attribute
        vr = dictionary_vr(tag)
    if vr is None or vr == "UN" or " or " in vr:
        return str(ds[tag].VR)
    return str(vr)


def is_empty(ds: Dataset, tag: int) -> bool:
    """Whether the element has no value, judged without converting a raw (undecoded) one."""
    raw = ds.get_item(tag)
    if isinstance(raw, RawDataElement):
        return bool(raw.length == 0)
    return raw is None or bool(raw.is_empty)


def store(ds: Dataset, tag: int, elem: DataElement | RawDataElement) -> None:
    """`ds[tag] = elem` for a standard attribute's replacement; a raw one goes straight into the dataset,
    since pydicom's checks on setting (a private creator, pixel data, a sequence) concern none of them."""
    if type(elem) is RawDataElement and elem.tag == tag:
        ds._dict[elem.tag] = elem
    else:
        ds[tag] = elem


def mapped_text(ds: Dataset, tag: int, raw: RawDataElement, vr: str,
                fn: Callable[[str], str]) -> DataElement | RawDataElement | None:
    """A raw text element of plain ASCII (no ISO 2022 escape: the same in every character set) with each
    value mapped by `fn`, its values split and stripped as pydicom converts them, encoded as pydicom would
    write the mapped values; None where conversion must tell (and for an empty value)."""
    value = raw.value
    values = text_values(value, vr) if type(value) is bytes and raw.length != _UNDEFINED else None
    if values is None:
        return None
    if values == [""]:  # empty: left to the conversion, which writes it empty
        return None
    result = "\\".join(fn(v) for v in values)
    return replaced(ds, tag, vr, result) if result.isascii() else None


def value_texts(ds: Dataset, element: DataElement | RawDataElement | None) -> list[str]:
    """An element's values as text, and a person name's components; a raw ASCII one read from its bytes."""
    plain, vr = ascii_values(element) if isinstance(element, RawDataElement) else (None, "")
    values: list[Any] | MultiValue[Any]
    if plain is None:
        elem = convert(ds, element) if isinstance(element, RawDataElement) else element
        if elem is None or elem.value in (None, "") or elem.VR == "SQ":
            return []
        values = elem.value if isinstance(elem.value, (MultiValue, list)) else [elem.value]
        vr = elem.VR
    else:
        values = plain
    out: list[str] = []
    for v in values:
        text = str(v)
        out.append(text)
        if vr == "PN":
            out += [part for part in text.replace("=", "^").split("^") if part]
    return out
