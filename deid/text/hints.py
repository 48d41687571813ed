"""What a caller already knows is identifying (a DICOM file's own header values), found anywhere in a text.

The detector finds identifiers by their shape and context; a hint finds a known value even
where it has neither (a bare patient id in a comment, the patient's surname in lower case
after a line break). DICOM person names are accepted as written in a header, `LAST^FIRST^MIDDLE`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from qms.deid.text import lexicon, names
from qms.deid.text.occurrences import WordIndex
from qms.deid.text.phi import PhiType, Span

__all__ = ["Hints", "find"]

MIN_ID_LENGTH = 4  # a short id ("7") would hit every such number; labels still find it
_NAME_WORD = re.compile(r"[^\W\d_][\w'\-]+")
_CUE_BEFORE = re.compile(r"(?:(?<![\w/])(?i:pt|patient|mr|mrs|ms|mr\./ms|dr|by|wife|husband|son|daughter|mother|father)"
                         r"\.?|(?<![\w.])[^\W\d_]\.)[ \t]+\Z")
_CUE_AFTER = re.compile(r"[ \t]*(?:\(|,?[ \t]*(?i:dob|mrn)\b)")
_ADJACENT = re.compile(r"[ \t]*[,^]?[ \t]*(?:[^\W\d_]\.?[ \t]+)?")  # between two parts of one name


@dataclass(frozen=True)
class Hints:
    """Identifying values known beforehand.

    `identifiers`: ids of the file or report (PatientID, AccessionNumber, OtherPatientIDs...).
    `names`: person names (`LAST^FIRST^MIDDLE` or plain). `birth_date`: the patient's birth
    date as DICOM DA (YYYYMMDD), if known. `over_89`: the patient is known to be over 89
    (from PatientAge or the birth date), so a birth date in the text must not survive.
    """

    identifiers: tuple[str, ...] = ()
    names: tuple[str, ...] = ()
    birth_date: str | None = None
    over_89: bool = False


def _name_words(hints: Hints) -> set[str]:
    return {w.lower() for name in hints.names for w in _NAME_WORD.findall(name.replace("^", " ")) if len(w) > 1}


def _ordinary(word: str) -> bool:
    """A hinted name that is also an everyday word ("hope", "long"), in lower case, is read as the word."""
    lowered = word.lower()
    return lowered in lexicon.english_words() or lowered in names.report_words() or lowered in lexicon.WORD_NAMES


def _cued(text: str, start: int, end: int) -> bool:
    """"pt young dob ...", "pt r. young": a title, an initial or an id beside the word makes it the name."""
    return (_CUE_BEFORE.search(text, max(0, start - 16), start) is not None
            or _CUE_AFTER.match(text, end) is not None)


def find(text: str, hints: Hints) -> list[Span]:
    """Every whole-word occurrence of a hinted id and of a hinted name word, in any case (a lower-case name that
    is also an everyday word only beside another part of the name, a title, an initial or an id)."""
    if not hints.identifiers and not hints.names:
        return []
    spans: list[Span] = []
    index = WordIndex(text, r"[\w'\-]+")
    for value in {v.strip() for v in hints.identifiers if len(v.strip()) >= MIN_ID_LENGTH}:
        for variant in {value, value.upper(), value.lower()}:
            spans += [Span(s, s + len(value), PhiType.MRN, "hint") for s in WordIndex(text).values(variant)]
    found = sorted(index.words(_name_words(hints)))
    sure = [text[s].isupper() or not _ordinary(text[s:e]) or _cued(text, s, e) for s, e in found]
    for i, (start, end) in enumerate(found):
        beside = (i > 0 and sure[i - 1] and _ADJACENT.fullmatch(text, found[i - 1][1], start) is not None) or (
            i + 1 < len(found) and sure[i + 1] and _ADJACENT.fullmatch(text, end, found[i + 1][0]) is not None)
        if sure[i] or beside:  # "haverford hope": the word beside the surname is the given name, not a hope
            spans.append(Span(start, end, PhiType.NAME, "hint"))
    return spans
