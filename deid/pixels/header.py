"""A dataset's header values as the region library's conditions compare them (CTP semantics).

Each tag is looked up once for all rules of a library. An element absent at the top level
is looked up in nested sequences (first found, depth first, the order of `Dataset.iterall`):
the library has rules on items such as CodeMeaning, and matching more only masks more; a
file meta tag (group 0002) is read from the file meta, as CTP reads it. The lookup reads only
the tags asked for (`tags`: every tag a library names, found in one walk) and decodes a plain
ASCII raw value from its bytes, so the other elements stay raw and are written back as read.

Given the file's bytes (`source`, not deflated), a tag whose four bytes appear nowhere in them,
in either byte order, is absent at every level (each element, nested ones included, opens with
its tag; an undefined-length UN value is implicit little endian): no walk of the sequences for it.
"""

from __future__ import annotations

from pydicom.dataelem import DataElement, RawDataElement
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue

from qms.deid.peek import INTEGERS, convert, dictionary_vr, raw_integer, stored, tag_of, text_values

__all__ = ["Header", "element_text", "raw_text"]

_UNDEFINED_LENGTH = 0xFFFFFFFF
_META_GROUP = 0x0002
_PIXEL_DATA = 0x7FE00010
_PLAIN_VRS = frozenset({"AE", "AS", "CS", "DA", "DT", "TM", "UI", "UR"})  # right-stripped, then split

Found = tuple[Dataset, DataElement | RawDataElement]


class Header:
    """The values of one dataset's header, as `Test` conditions read them (module docstring)."""

    def __init__(self, ds: Dataset, tags: frozenset[int] = frozenset(), source: bytes | None = None) -> None:
        self._ds = ds
        self._tags = tags
        self._source = source
        self._values: dict[int, str] = {}
        self._nested: dict[int, Found] = {}
        self._searched: set[int] = set()

    def value(self, tag: int) -> str:
        """The element's value: several values joined by a backslash, "" when absent or a sequence."""
        value = self._values.get(tag)
        if value is None:
            found = self._element(tag)
            value = self._values[tag] = "" if found is None else element_text(*found)
        return value

    def _element(self, tag: int) -> Found | None:
        ds = self._ds
        elem = stored(ds, tag)
        if elem is not None:
            return ds, elem
        meta = getattr(ds, "file_meta", None)
        if tag >> 16 == _META_GROUP:
            if meta is None:
                return None
            found = stored(meta, tag)
            return None if found is None else (meta, found)
        if tag not in self._searched:
            wanted = {t for t in self._tags if t not in self._searched and t not in ds._dict and t >> 16 != _META_GROUP}
            wanted.add(tag)
            self._searched |= wanted
            if self._source is not None:
                spans = _outside_pixel_data(ds, len(self._source))
                wanted = {t for t in wanted if _may_occur(self._source, spans, t)}
            if wanted:
                _find_nested(ds, wanted, self._nested)
        return self._nested.get(tag)


def _may_occur(source: bytes, spans: tuple[tuple[int, int], ...], tag: int) -> bool:
    """Whether the tag's bytes, little or big endian, occur in `source` within one of `spans`."""
    group, elem = tag >> 16, tag & 0xFFFF
    little = group.to_bytes(2, "little") + elem.to_bytes(2, "little")
    big = group.to_bytes(2, "big") + elem.to_bytes(2, "big")
    return any(source.find(p, a, b) >= 0 for a, b in spans for p in (little, big))


def _outside_pixel_data(ds: Dataset, size: int) -> tuple[tuple[int, int], ...]:
    """The byte ranges of the file that may hold element headers: all but a raw top-level Pixel Data
    value (pixels or fragments, never a dataset), so a large image is not searched byte by byte."""
    raw = stored(ds, _PIXEL_DATA)
    if not isinstance(raw, RawDataElement) or not isinstance(raw.value, bytes) or not raw.value_tell:
        return ((0, size),)
    start = raw.value_tell
    end = start + (len(raw.value) if raw.length == _UNDEFINED_LENGTH else raw.length)
    # a tag's 4 bytes may straddle a span's edge only across the value's first or last 3 bytes
    return ((0, min(size, start + 3)), (max(0, end - 3), size))


def element_text(ds: Dataset, elem: DataElement | RawDataElement) -> str:
    """The text a condition compares: a raw element's from its bytes where that is plain, else converted."""
    if isinstance(elem, RawDataElement):
        text = raw_text(elem)
        if text is not None:
            return text
        return _text(convert(ds, elem))
    return _text(elem)


def raw_text(raw: RawDataElement) -> str | None:
    """`_text` of the converted element, read from the bytes of a one-valued integer or of plain ASCII
    text (no ISO 2022 escape, so the same in every character set); None where conversion must tell."""
    value = raw.value
    if not isinstance(value, bytes) or raw.length == _UNDEFINED_LENGTH:
        return None
    vr = raw.VR if raw.VR is not None else dictionary_vr(raw.tag)
    if vr is None:
        return None
    if vr in INTEGERS:
        number = raw_integer(raw, vr)
        return None if number is None else str(number)
    items = text_values(value, vr)
    if items is None:
        if vr not in _PLAIN_VRS or not value.isascii() or b"\x1b" in value:
            return None
        text = value.decode("ascii").rstrip(" \x00")
        # a UI's values are UIDs, which drop surrounding spaces
        items = [part.strip() for part in text.split("\\")] if vr == "UI" else text.split("\\")
    return items[0].strip() if len(items) == 1 else "\\".join(items)


def _text(element: DataElement | None) -> str:
    if element is None or element.value is None or element.VR == "SQ":
        return ""
    value = element.value
    if isinstance(value, bytes):
        return value.decode("latin-1", errors="replace").rstrip("\x00 ")
    if isinstance(value, (list, tuple, MultiValue)):
        return "\\".join(str(v) for v in value)
    return str(value).strip()


def _find_nested(ds: Dataset, wanted: set[int], found: dict[int, Found]) -> bool:
    """Depth first through the sequences of `ds`, the first element of each wanted tag into `found`;
    True when every wanted tag is found."""
    for tag, elem in sorted(ds.items(), key=tag_of):
        if tag in wanted and tag not in found:
            found[tag] = (ds, elem)
            if len(found) >= len(wanted) and wanted.issubset(found):
                return True
        if _may_be_sequence(tag, elem):
            sequence = ds[tag]
            if sequence.VR == "SQ":
                for item in sequence.value:
                    if _find_nested(item, wanted, found):
                        return True
    return False


def _may_be_sequence(tag: int, elem: DataElement | RawDataElement) -> bool:
    """Whether the element can hold items, judged without converting a raw value that cannot."""
    if not isinstance(elem, RawDataElement):
        return bool(elem.VR == "SQ")
    vr = elem.VR
    if vr == "SQ" or vr == "UN" or elem.length == _UNDEFINED_LENGTH or elem.value is None:
        return True
    if vr is None:  # implicit VR: the dictionary's VR, where it has one, is what the value converts to
        known = dictionary_vr(tag)
        return known is None or known == "SQ"  # private or unknown: convert to find out
    return False
