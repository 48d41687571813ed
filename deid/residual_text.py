"""Residual PHI in the text of an output, found by the PHI detector: what verify was not told to look for.

Comparing an output with its source's header values misses what the header never held: an
SSN typed into PatientComments, an address in AdditionalPatientHistory, the doctor named in
an SR TextValue. Every text element of an output (nested items included) goes through the
one detector of `qms.deid.text`, with the output's own values as hints, and each identifier
found is a `qms.findings.Finding` naming the file, the tag path and the PHI type, never the
value. A de-identified text holds surrogates that look like identifiers (a name, a shifted
date): where the source is known, an identifier counts only if its text is the source's
(as written, in any case); an output without a source is judged on the detector alone.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Any

from pydicom.dataset import Dataset
from pydicom.multival import MultiValue

from qms.deid.header_text import (CODED, DEVICE_DESCRIPTORS, FREE_TEXT_VRS, HINT_TAGS, NOT_PHI_IN_DEVICE, FileHints,
                                  PlainValues, content_names)
from qms.deid.peek import stored, text, value_texts
from qms.deid.text import PhiType, find_phi
from qms.findings import Finding

__all__ = ["SourceValues", "TEXT_PHI", "TextScan", "walk"]

TEXT_PHI = "deid-text-phi"
_HINT = ("do not share this output: de-identify its free text with qms (every text element goes through the "
         "PHI detector), or remove the element")
_SPACE = re.compile(r"\s+")
_PATIENT_ID, _PIXEL_DATA = 0x00100020, 0x7FE00010


def _normal(value: str) -> str:
    return _SPACE.sub(" ", value).strip().upper()


class SourceValues:
    """Every string value of a source file, to tell an original left in an output from a surrogate put there."""

    def __init__(self, values: Iterable[str]) -> None:
        self._text = "\n".join(_normal(v) for v in values)

    @classmethod
    def of(cls, source: Dataset) -> SourceValues:
        return cls(v for _, elem in walk(source) for v in _strings(elem.value))

    def holds(self, value: str) -> bool:
        """Whether `value` occurs in the source, any case, as whole words."""
        needle = _normal(value)
        return bool(needle) and re.search(rf"(?<![A-Z0-9]){re.escape(needle)}(?![A-Z0-9])", self._text) is not None


def _strings(value: Any) -> list[str]:
    items = value if isinstance(value, (MultiValue, list)) else [value]
    return [str(v) for v in items if v is not None and not isinstance(v, (bytes, bytearray))]


def walk(ds: Dataset, prefix: str = "") -> Iterator[tuple[str, Any]]:
    """(tag path, element) of every element at every level, e.g. `(0040,A730)[2]>(0040,A160)`; Pixel Data is
    left to the pixel checks."""
    for elem in ds:
        path = f"{prefix}{elem.tag}"
        if elem.VR == "SQ":
            for i, item in enumerate(elem.value):
                yield from walk(item, f"{path}[{i}]>")
        elif elem.tag != _PIXEL_DATA:
            yield path, elem


def _capped(kind: PhiType, value: str, span_end: int) -> bool:
    """"90+" is the category Safe Harbor allows for every age over 89, not an age."""
    return kind is PhiType.AGE and value[span_end:span_end + 1] == "+"


class TextScan:
    """Runs the detector over the text elements of output files (reusable across files).

    `kept`: attributes the options keep on purpose (K, e.g. under Retain Device Identity): not findings.
    """

    def __init__(self, kept: frozenset[int] = frozenset()) -> None:
        self._plain = PlainValues()
        self._skipped = CODED | kept

    def findings(self, file: str, ds: Dataset, source: SourceValues | None) -> list[Finding]:
        """One finding per tag path and PHI type of an identifier found in a text element of `ds` (the output)."""
        hints = FileHints.of(text(ds, _PATIENT_ID), {t: value_texts(ds, stored(ds, t)) for t in HINT_TAGS},
                             content_names(ds))
        found: dict[tuple[str, PhiType], None] = {}
        for path, elem in walk(ds):
            if elem.VR not in FREE_TEXT_VRS or int(elem.tag) in self._skipped:
                continue
            for value in _strings(elem.value):
                if not value.strip() or not self._plain.may_hold_phi(value, hints):
                    continue
                device = int(elem.tag) in DEVICE_DESCRIPTORS
                for span in find_phi(value, hints.hints):
                    if _capped(span.kind, value, span.end) or (device and span.kind in NOT_PHI_IN_DEVICE):
                        continue
                    if source is None or source.holds(span.text(value)):
                        found[(path, span.kind)] = None
        return [Finding(TEXT_PHI, file, f"{kind.value} in free text, found by the PHI detector (value not shown)",
                        _HINT, path) for path, kind in found]
