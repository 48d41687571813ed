"""Free text in DICOM headers through the one PHI detector of report text (issue 19, item 1).

Table E.1-1 cleans (C) descriptors and comments, and keeps what it does not list: the text
of structured reports (TextValue), manufacturer strings, private text of the safe list. Any
of them may quote a name, an address, an SSN or a date. Every such value goes through
`qms.deid.text` with the file's own identifying values as hints, and each identifier found
becomes the keyed surrogate the same patient's reports get: names keyed per patient and
word, dates moved by the patient's offset, ages over 89 as "90+" (45 CFR §164.514(b)(2)).
A person name (PN) the profile keeps is a name whole, so it gets the name surrogate. What an
option retains on purpose (K: the institution or device identity a user chose to keep) is
left as the option says; code values are vocabulary, not text (`CODED`).

A series repeats its descriptors in every file: a value in which the detector finds nothing
on its own, and which holds none of the file's hinted values, is remembered and skipped.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from pydicom.dataset import Dataset

from qms.deid.keying import DateShiftRange, DeidKey
from qms.deid.peek import element_vr, value_texts
from qms.deid.text import Deidentifier, Hints, PhiType, find_phi
from qms.deid.values import MAX_LENGTH, cap_age

__all__ = ["CODED", "DEVICE_DESCRIPTORS", "FREE_TEXT_VRS", "HINT_TAGS", "NOT_PHI_IN_DEVICE", "FileHints", "HeaderText",
           "PlainValues", "content_names"]

FREE_TEXT_VRS = frozenset({"LO", "LT", "PN", "SH", "ST", "UC", "UT"})
# Coded vocabulary, not text (PS3.3 §8.8): a SNOMED code value looks like an id, and a code that
# identifies a person or an institution is replaced whole (`qms.deid.dataset.CODED_IDENTITIES`).
CODED = frozenset({0x00080100, 0x00080102, 0x00080103, 0x00080105, 0x0008010F, 0x00080119})
# General Equipment and detector descriptors name the device's maker, model and software: an
# organisation there is the manufacturer, not PHI, and a surrogate would break every analysis by
# manufacturer. A person's name or an identifier typed into them is still replaced.
DEVICE_DESCRIPTORS = frozenset({0x00080070, 0x00081090, 0x00181020, 0x00181016, 0x00181018, 0x00181019,
                                0x0018702A, 0x0018702B})
NOT_PHI_IN_DEVICE = frozenset({PhiType.INSTITUTION})
_MIN_ID = 4  # as the detector's hints: a shorter id would match every such number
_REMEMBERED = 1 << 16  # values remembered as free of PHI, per process
_REMEMBERED_LENGTH = 1024  # only short values recur; a report-length text is looked at each time
_DA = re.compile(r"^\d{8}$")
_NAME_WORD = re.compile(r"[^\W\d_][\w'\-]+")  # a hinted name's words, as `qms.deid.text.hints` finds them


# The file's own values given to the detector as hints (read before any change).
NAME_TAGS = (0x00100010, 0x00101001, 0x00101060, 0x00080090, 0x00081048, 0x00081050, 0x00081060, 0x00081070,
             0x00321032, 0x00102297)
ID_TAGS = (0x00100020, 0x00101000, 0x00080050, 0x00200010, 0x00080080, 0x00080081, 0x00081040, 0x00081010,
           0x00101040, 0x00102154, 0x00101090, 0x00102152)
BIRTH_DATE, AGE = 0x00100030, 0x00101010
DATE_TAGS = (0x00080020, 0x00080021, 0x00080022, 0x00080023)
HINT_TAGS = (*NAME_TAGS, *ID_TAGS, BIRTH_DATE, AGE, *DATE_TAGS)
_CONTENT_SEQUENCE = 0x0040A730


@dataclass(frozen=True)
class FileHints:
    """The detector's hints for one file, and the upper-case words that tell whether a value holds one."""

    hints: Hints
    words: tuple[str, ...]

    @classmethod
    def of(cls, subject: str, values: Mapping[int, Sequence[str]], content_names: Iterable[str] = ()) -> FileHints:
        """Hints from the values of `HINT_TAGS` (PN as written, `LAST^FIRST`) and the names of an SR content tree."""
        names = _person_names([*content_names, *(v for t in NAME_TAGS for v in values.get(t, ()))])
        ids = tuple(sorted({i.strip() for t in ID_TAGS for i in values.get(t, ()) if len(i.strip()) >= _MIN_ID}))
        birth = next(iter(values.get(BIRTH_DATE, ())), "").strip()
        born = birth if _DA.match(birth) else None
        over_89 = any(cap_age(a) == "090Y" for a in values.get(AGE, ())) or (
            born is not None and any(_years(born, d) >= 90 for t in DATE_TAGS for d in values.get(t, ())))
        words = {w.upper() for n in names for w in _NAME_WORD.findall(n.replace("^", " "))}
        words |= {i.upper() for i in ids}
        if len(subject) >= _MIN_ID:
            words.add(subject.upper())
        return cls(Hints(ids, names, born, over_89), tuple(sorted(words)))

    def held_in(self, value: str) -> bool:
        upper = value.upper()
        return any(w in upper for w in self.words)

    def held(self, value: str) -> tuple[str, ...]:
        """The hinted words `value` holds: with the patient, all that the detector's result depends on."""
        upper = value.upper()
        return tuple(w for w in self.words if w in upper)


def _person_names(values: Iterable[str]) -> tuple[str, ...]:
    """Family, given and middle names of PN values listed whole and by component (`peek.value_texts`).

    A prefix or suffix ("Dr", "MD") names no one: as a hint it would be replaced wherever it occurs.
    """
    values = [v.strip() for v in values if v.strip()]
    groups = [g.split("^") for v in values if "^" in v or "=" in v for g in v.split("=")]
    titles = {p for parts in groups for p in parts[3:]}
    kept = {"^".join(parts[:3]) for parts in groups} | {v for v in values if "^" not in v and "=" not in v}
    return tuple(sorted(v for v in kept if v.strip("^") and v not in titles))


def _years(born: str, later: str) -> int:
    try:
        b = date(int(born[:4]), int(born[4:6]), int(born[6:8]))
        d = date(int(later[:4]), int(later[4:6]), int(later[6:8]))
    except ValueError:
        return 0
    return d.year - b.year - ((d.month, d.day) < (b.month, b.day))


class PlainValues:
    """Values in which the detector finds nothing on its own, remembered: a series repeats its descriptors."""

    def __init__(self) -> None:
        self._plain: set[str] = set()

    def may_hold_phi(self, value: str, hints: FileHints) -> bool:
        """False only where `find_phi(value, hints.hints)` is surely empty (so it need not run)."""
        if hints.hints.over_89 or hints.held_in(value):
            return True
        if value in self._plain:
            return False
        if find_phi(value):
            return True
        if len(value) <= _REMEMBERED_LENGTH:
            if len(self._plain) >= _REMEMBERED:
                self._plain.clear()
            self._plain.add(value)
        return False


class HeaderText:
    """Replaces the identifiers in header text values by the surrogates of the patient's reports."""

    def __init__(self, key: DeidKey, shift: DateShiftRange) -> None:
        self.deid = Deidentifier(key, shift)
        self._plain = PlainValues()
        self._done: dict[tuple[object, ...], tuple[str, int]] = {}  # a series' descriptors, cleaned once


    def clean(self, value: str, vr: str, patient: str, hints: FileHints, device: bool = False) -> tuple[str, int]:
        """`value` with every identifier found replaced, and how many were; `patient` is the patient key.

        `device`: the value is a device descriptor (`DEVICE_DESCRIPTORS`).
        """
        if not value.strip():
            return value, 0
        if vr == "PN":
            return _limit(self.deid.surrogate(patient, PhiType.NAME, value), vr), 1
        if not self._plain.may_hold_phi(value, hints):
            return value, 0
        if len(value) > _REMEMBERED_LENGTH:
            return self._clean(value, vr, patient, hints, device)
        key = (value, vr, patient, hints.held(value), hints.hints.over_89, hints.hints.birth_date, device)
        done = self._done.get(key)
        if done is None:
            if len(self._done) >= _REMEMBERED:
                self._done.clear()
            done = self._done[key] = self._clean(value, vr, patient, hints, device)
        return done

    def _clean(self, value: str, vr: str, patient: str, hints: FileHints, device: bool) -> tuple[str, int]:
        result = self.deid.deidentify(value, patient, hints.hints, NOT_PHI_IN_DEVICE if device else frozenset())
        text, left = _left_over(result.text, hints.hints.identifiers, lambda v: self.deid.surrogate(
            patient, PhiType.MRN, v))
        return _limit(text, vr), len(result.spans) + left


def _left_over(text: str, identifiers: Iterable[str], surrogate: Callable[[str], str]) -> tuple[str, int]:
    """A hinted id the detector left (inside a longer word: "ID:PAT123X") goes too, as the old C cleaning did."""
    count = 0
    for value in identifiers:
        found = re.compile(re.escape(value), re.IGNORECASE)
        text, n = found.subn(lambda m: surrogate(m.group()), text)
        count += n
    return text, count


def _limit(text: str, vr: str) -> str:
    limit = MAX_LENGTH.get(vr)
    return text[:limit] if limit else text


def content_names(ds: Dataset) -> list[str]:
    """The person names (PN) anywhere in the SR content tree of `ds`, read before the walk replaces them."""
    found: list[str] = []
    items = list(ds[_CONTENT_SEQUENCE].value) if _CONTENT_SEQUENCE in ds._dict else []
    while items:
        item = items.pop()
        for tag, elem in item._dict.items():
            vr = element_vr(item, tag, elem)
            if vr == "SQ":
                items += list(item[tag].value)
            elif vr == "PN":
                found += value_texts(item, elem)
    return found
