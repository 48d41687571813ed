"""Find every identifier in a report: patterns, names and places combined, clinical terms kept.

A span that overlaps a clinical term (an eponym, a device, a medication...) is dropped, so
"Parkinson disease" stays while "Dr. Parkinson" goes. Overlapping finds are resolved
longest first; a value found once is found at every other place it occurs in the report.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import cache

from qms.deid.text import dates, lexicon, names, patterns, places
from qms.deid.text.phi import PhiType, Span

# On equal length, the more specific type wins (a fax number found by its "fax" label, not as a phone).
_PRIORITY = {t: i for i, t in enumerate((
    PhiType.DATE, PhiType.SSN, PhiType.FAX, PhiType.PHONE, PhiType.EMAIL, PhiType.URL, PhiType.IP, PhiType.MRN,
    PhiType.ACCESSION, PhiType.ACCOUNT, PhiType.ZIP, PhiType.AGE, PhiType.ADDRESS, PhiType.INSTITUTION,
    PhiType.CITY, PhiType.NAME, PhiType.ID,
))}
_PROTECTABLE = frozenset({PhiType.NAME, PhiType.CITY, PhiType.INSTITUTION, PhiType.ID})


@cache
def _clinical() -> re.Pattern[str]:
    terms = sorted({t.term for t in lexicon.clinical_terms()}, key=len, reverse=True)
    return re.compile(r"(?<![\w])(?i:" + "|".join(re.escape(t) for t in terms) + r")(?![\w])")


@cache
def _eponyms() -> frozenset[str]:
    return frozenset(t.term.lower() for t in lexicon.clinical_terms() if t.category == "eponym")


def protected(text: str) -> list[tuple[int, int]]:
    """Where the clinical terms of the list occur in `text`."""
    return [(m.start(), m.end()) for m in _clinical().finditer(text)]


def _spares(span: Span, text: str, keep: list[tuple[int, int]]) -> bool:
    """A span is kept unless it would replace a clinical term.

    Only an eponym stops a named institution or a name found by its context ("Aaron Colon,
    MD" is a name; "the colon" is anatomy and a bare "Colon" elsewhere is kept).
    """
    if span.type not in _PROTECTABLE:
        return True
    hits = [(b, e) for b, e in keep if span.start < e and b < span.end]
    if span.type is PhiType.INSTITUTION or span.source == "context":
        hits = [(b, e) for b, e in hits if text[b:e].lower() in _eponyms()]
    return not hits


def _candidates(text: str) -> list[Span]:
    found = [Span(s, e, PhiType.DATE, "dates") for s, e in dates.find(text)]
    found += patterns.find(text)
    found += places.find(text)
    found += names.find(text)
    return found


def _resolve(spans: list[Span]) -> list[Span]:
    kept: list[Span] = []
    for span in sorted(spans, key=lambda s: (s.start - s.end, _PRIORITY[s.type], s.start)):
        if not any(span.overlaps(k) for k in kept):
            kept.append(span)
    return sorted(kept)


def _occurrences(text: str, value: str) -> Iterator[int]:
    """Start offsets of `value` in `text` as a whole word (no regex: a batch has thousands of values)."""
    start = text.find(value)
    while start >= 0:
        end = start + len(value)
        if (start == 0 or not text[start - 1].isalnum()) and (end == len(text) or not text[end].isalnum()):
            yield start
        start = text.find(value, start + 1)


def _repeat(text: str, spans: list[Span]) -> list[Span]:
    """Other occurrences of a found value (the MRN in the header, again in the footer)."""
    return [Span(start, start + len(value), phi_type, "repeat")
            for value, phi_type in {(s.text(text), s.type) for s in spans if s.end - s.start >= 4}
            for start in _occurrences(text, value)]


def _known(text: str, values: tuple[str, ...]) -> list[Span]:
    """Where identifiers known beforehand (the report's own patient id) occur, whatever their shape."""
    spans = []
    for value in (v.strip() for v in values):
        if len(value) >= 4:  # a short id ("7") would hit every such number; labels still find it
            spans += [Span(m.start(), m.end(), PhiType.MRN, "known")
                      for m in re.finditer(rf"(?<![\w]){re.escape(value)}(?![\w])", text, re.I)]
    return spans


def find(text: str, known: tuple[str, ...] = ()) -> list[Span]:
    """The identifiers of `text`: non-overlapping spans, in order; `known` values are found wherever they are."""
    keep = protected(text)
    spans = _resolve([s for s in _candidates(text) + _known(text, known) if _spares(s, text, keep)])
    return _resolve(spans + [s for s in _repeat(text, spans) if _spares(s, text, keep)])
