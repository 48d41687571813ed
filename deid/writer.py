"""Writing a de-identified file: byte for byte what `pydicom.dcmwrite(..., enforce_file_format=True)` writes.

Why not dcmwrite itself: it spends some 20 microseconds of Python on every element, even on
the raw elements it copies unchanged, which is most of a file. Here a raw element, kept as
it was read, is written as its header and its original value bytes in one step; everything
else (changed elements, pixel data, datasets pydicom would re-encode, the file meta, deflate)
goes through pydicom's own functions, so the output is the same (tests/deid/test_writer.py
compares both on every test file pydicom ships). One difference: an element read as implicit
VR in a file whose transfer syntax says explicit gets its VR from the dictionary, where
dcmwrite fails on it.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from copy import deepcopy
from io import BytesIO

from pydicom.charset import convert_encodings, default_encoding
from pydicom.dataelem import DataElement, RawDataElement
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.filebase import DicomBytesIO
from pydicom.filewriter import dcmwrite, write_data_element, write_dataset, write_file_meta_info
from pydicom.multival import MultiValue
from pydicom.tag import BaseTag, tag_in_exception
from pydicom.uid import UID, DeflatedExplicitVRLittleEndian
from pydicom.valuerep import EXPLICIT_VR_LENGTH_32

from qms.deid.peek import TEXT_VRS, canonical_uid, convert, element_at, tag_of, transfer_syntax, uid_as_written

__all__ = ["write_file"]

_LONG_VRS = frozenset(str(vr) for vr in EXPLICIT_VR_LENGTH_32)
_UNDEFINED = 0xFFFFFFFF
_PIXEL_DATA = 0x7FE00010
_ITEM, _ITEM_END, _SEQUENCE_END = 0xFFFEE000, 0xFFFEE00D, 0xFFFEE0DD
_STRING_PADDING = {  # VRs whose writer encodes a str as ASCII and pads it to even length, and the pad
    **dict.fromkeys(("AE", "AS", "CS", "DA", "DT", "TM", "UR", "LO", "LT", "SH", "ST", "UC", "UT"), b" "),
    "UI": b"\x00",
}
_ASCII_CHARSETS = frozenset({"", "ISO_IR 6", "ISO_IR 100", "ISO_IR 192", "ISO8859", "LATIN_1", "UTF8"})
_INTEGER_FORMATS = {"US": "H", "UL": "L", "SS": "h", "SL": "l", "UV": "Q", "SV": "q"}
Encoding = tuple[bool, bool]  # (implicit VR, little endian)
_EXPLICIT_LE: Encoding = (False, True)
_GROUP_LENGTH, _MEDIA_CLASS, _MEDIA_INSTANCE, _IMPLEMENTATION_VERSION = 0x00020000, 0x00020002, 0x00020003, 0x00020013
_META_REQUIRED = (0x00020001, 0x00020002, 0x00020003, 0x00020010, 0x00020012)  # validate_file_meta's
_SOP_CLASS, _SOP_INSTANCE, _CHARSET = 0x00080016, 0x00080018, 0x00080005
_EMPTY: tuple[object, ...] = (None, "", b"")
_HEADERS = {(order, layout): struct.Struct(order + layout) for order in "<>" for layout in ("HHL", "HH2sHL", "HH2sH")}


def write_file(ds: Dataset) -> bytes:
    """The Part 10 file of `ds`: preamble, file meta, dataset (what dcmwrite would write)."""
    meta = getattr(ds, "file_meta", None)
    ts = transfer_syntax(meta) if meta is not None else None
    if (meta is None or ts is None or ts == DeflatedExplicitVRLittleEndian or not UID(ts).is_transfer_syntax or UID(ts).is_private
            or any(t >> 16 in (0, 2) for t in ds.keys())):
        return _dcmwrite(ds)  # what the fast path does not cover: dcmwrite's own answer (or error)
    ts = UID(ts)
    encoding = (ts.is_implicit_VR, ts.is_little_endian)
    preamble = getattr(ds, "preamble", None) or b"\x00" * 128
    if len(preamble) != 128:
        return _dcmwrite(ds)
    meta_bytes = _file_meta(meta, ds)
    pixels = element_at(ds, _PIXEL_DATA)
    # PS3.5 A.4: encapsulated pixel data has undefined length, native a defined one (as native data read raw has)
    if pixels is not None and (ts.is_compressed or not _native_as_read(pixels, encoding, ds.original_encoding)):
        ds[_PIXEL_DATA].is_undefined_length = ts.is_compressed
    out = [preamble, b"DICM", meta_bytes]
    _dataset(ds, encoding, default_encoding, out)
    return b"".join(out)


def _native_as_read(elem: DataElement | RawDataElement, encoding: Encoding,
                    read: tuple[bool | None, bool | None]) -> bool:
    """Whether raw pixel data is native (defined length, even), read in the encoding it is written in, with
    an OB or OW VR: copied as it is, it is what pydicom writes once it is converted."""
    if type(elem) is not RawDataElement or type(elem.value) is not bytes or encoding != read:
        return False
    return (elem.length != _UNDEFINED and len(elem.value) & 1 == 0
            and (elem.VR in ("OB", "OW") or (elem.VR is None and encoding[0])))


def _file_meta(meta: FileMetaDataset, ds: Dataset) -> bytes:
    """`write_file_meta_info` of the file meta as `dcmwrite` makes it current (MediaStorage UIDs), `meta`
    itself unchanged; a file meta that pydicom would complete or re-encode is left to pydicom."""
    elements: dict[int, DataElement | RawDataElement] = dict(meta.items())
    ds_class, ds_instance = uid_as_written(ds, _SOP_CLASS), uid_as_written(ds, _SOP_INSTANCE)  # as dcmwrite
    for tag, wanted in ((_MEDIA_CLASS, ds_class), (_MEDIA_INSTANCE, ds_instance)):
        current = _meta_value(meta, elements.get(tag))
        if current is None or (wanted and wanted != current):
            elements[tag] = DataElement(tag, "UI", wanted)
    complete = all(_meta_value(meta, elements.get(tag)) not in _EMPTY for tag in _META_REQUIRED)
    if (not complete or _IMPLEMENTATION_VERSION not in elements or meta.original_encoding != _EXPLICIT_LE
            or meta.original_character_set != meta._character_set):
        file_meta = deepcopy(meta)  # what validate_file_meta adds or refuses, and a re-encoding
        for tag in (_MEDIA_CLASS, _MEDIA_INSTANCE):
            file_meta[tag] = elements[tag]
        return _pydicom(write_file_meta_info, _EXPLICIT_LE, file_meta)
    body: list[bytes] = []
    _elements(meta, sorted((t, e) for t, e in elements.items() if t != _GROUP_LENGTH), _EXPLICIT_LE,
              default_encoding, body)
    rest = b"".join(body)
    return _header(_GROUP_LENGTH, "UL", 4, False, "<") + struct.pack("<L", len(rest)) + rest


def _meta_value(meta: FileMetaDataset, elem: DataElement | RawDataElement | None) -> object:
    if elem is None:
        return None
    if type(elem) is RawDataElement:
        if elem.VR == "OB" and type(elem.value) is bytes:
            return elem.value  # what converting OB gives: its bytes
        uid = canonical_uid(elem)
        return uid if uid is not None else convert(meta, elem).value
    return elem.value


def _dcmwrite(ds: Dataset) -> bytes:
    buffer = BytesIO()
    dcmwrite(buffer, ds, enforce_file_format=True)
    return buffer.getvalue()


def _dataset(ds: Dataset, encoding: Encoding, parent_encoding: str | list[str], out: list[bytes]) -> None:
    """`pydicom.filewriter.write_dataset`, raw elements copied in one step each."""
    if encoding != ds.original_encoding or ds.original_character_set != ds._character_set:
        out.append(_pydicom(write_dataset, encoding, ds, parent_encoding))  # pydicom re-encodes it all
        return
    encodings = ds.get("SpecificCharacterSet", parent_encoding) if _CHARSET in ds._dict else parent_encoding
    _elements(ds, sorted(ds.items(), key=tag_of), encoding, encodings, out)


def _elements(ds: Dataset, elements: Iterable[tuple[int, DataElement | RawDataElement]], encoding: Encoding,
              encodings: str | list[str], out: list[bytes]) -> None:
    """The body of `write_dataset`: each element of `ds`, in tag order."""
    implicit, little = encoding
    order = "<" if little else ">"
    for tag, elem in elements:
        if tag & 0xFFFF == 0 and tag >> 16 > 6:  # retired group lengths are not written (PS3.5 §7.2)
            continue
        if isinstance(elem, RawDataElement) and (elem.value is None or (not implicit and elem.VR is None)):
            # A deferred (or empty, valueless) raw element is converted, as `get_item` converts it; one read
            # as implicit VR and written explicit gets its VR from the dictionary (where dcmwrite fails).
            elem = ds[tag]
        if isinstance(elem, RawDataElement):
            value, vr = elem.value, elem.VR
            if (isinstance(value, bytes) and elem.length != _UNDEFINED and len(value) & 1 == 0
                    and (implicit or (vr is not None and len(vr) == 2
                                      and (vr in _LONG_VRS or len(value) <= 0xFFFF)))):
                out.append(_header(tag, vr or "", len(value), implicit, order))  # no VR in implicit VR
                out.append(value)
                continue
        elif elem.VR == "SQ" and tag != _PIXEL_DATA:
            _sequence(elem, encoding, encodings, order, out)
            continue
        else:
            value = _simple_value(elem, order, encodings)
            if value is not None and (implicit or elem.VR in _LONG_VRS or len(value) <= 0xFFFF):
                out.append(_header(tag, elem.VR, len(value), implicit, order))
                out.append(value)
                continue
        with tag_in_exception(BaseTag(tag)):
            out.append(_pydicom(write_data_element, encoding, elem, encodings))


def _simple_value(elem: DataElement, order: str, encodings: str | list[str]) -> bytes | None:
    """The encoded value of a one-valued ASCII string or integer, as pydicom's writers encode it;
    None for anything else (pydicom encodes that)."""
    if elem.is_undefined_length:
        return None
    value, vr = elem.value, elem.VR
    if value is None or value == "":
        return b"" if vr in _STRING_PADDING or vr in _INTEGER_FORMATS else None
    kind = type(value)
    if kind is str or kind is UID:
        padding = _STRING_PADDING.get(vr)
        if padding is None or not value.isascii() or (vr in TEXT_VRS and not _ascii_compatible(encodings)):
            return None
        data: bytes = value.encode("ascii")
        return data + padding if len(data) & 1 else data
    if kind is int and vr in _INTEGER_FORMATS:
        return bytes(struct.pack(order + _INTEGER_FORMATS[vr], value))
    if (kind is list or kind is MultiValue) and vr in _STRING_PADDING and all(type(v) in (str, UID) for v in value):
        # several values: each encoded as one value is, joined by backslashes, padded once (pydicom's writers)
        joined = "\\".join(value)
        if not joined.isascii() or (vr in TEXT_VRS and not _ascii_compatible(encodings)):
            return None
        data = joined.encode("ascii")
        return data + _STRING_PADDING[vr] if len(data) & 1 else data
    return None


def _ascii_compatible(encodings: str | list[str]) -> bool:
    """Whether text in these character sets encodes ASCII as ASCII, as PS3.5 §6.1 requires of the default."""
    names = [encodings] if isinstance(encodings, str) else list(encodings or [])
    return all(name.strip().upper() in _ASCII_CHARSETS for name in names)


def _sequence(elem: DataElement, encoding: Encoding, encodings: str | list[str], order: str, out: list[bytes]) -> None:
    """`write_data_element` of a sequence: items, their lengths and delimiters as pydicom writes them."""
    parent = convert_encodings(encodings or [default_encoding])
    body: list[bytes] = []
    for item in elem.value:
        content: list[bytes] = []
        _dataset(item, encoding, parent, content)
        data = b"".join(content)
        undefined = getattr(item, "is_undefined_length_sequence_item", False)
        body.append(struct.pack(order + "HHL", _ITEM >> 16, _ITEM & 0xFFFF, _UNDEFINED if undefined else len(data)))
        body.append(data)
        if undefined:
            body.append(struct.pack(order + "HHL", _ITEM_END >> 16, _ITEM_END & 0xFFFF, 0))
    value = b"".join(body)
    undefined = elem.is_undefined_length
    out.append(_header(elem.tag, "SQ", _UNDEFINED if undefined else len(value), encoding[0], order))
    out.append(value)
    if undefined:
        out.append(struct.pack(order + "HHL", _SEQUENCE_END >> 16, _SEQUENCE_END & 0xFFFF, 0))


def _header(tag: int, vr: str, length: int, implicit: bool, order: str) -> bytes:
    if implicit:
        return _HEADERS[order, "HHL"].pack(tag >> 16, tag & 0xFFFF, length)
    if vr in _LONG_VRS:
        return _HEADERS[order, "HH2sHL"].pack(tag >> 16, tag & 0xFFFF, vr.encode(), 0, length)
    return _HEADERS[order, "HH2sH"].pack(tag >> 16, tag & 0xFFFF, vr.encode(), length)


def _pydicom(fn: object, encoding: Encoding, *args: object) -> bytes:
    """The bytes one of pydicom's writer functions writes, into a buffer of the file's encoding."""
    fp = DicomBytesIO()
    fp.is_implicit_VR, fp.is_little_endian = encoding
    fn(fp, *args)  # type: ignore[operator]
    return fp.getvalue()
