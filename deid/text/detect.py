"""Find every identifier in a text: patterns, names and places combined, clinical terms kept.

A span that overlaps a clinical term (an eponym, a device, a medication...) is dropped, so
"Parkinson disease" stays while "Dr. Parkinson" goes. Overlapping finds are resolved
longest first; a value found once is found at every other place it occurs in the text.
Every step is linear in the text's length (a 5 MB report takes seconds): overlaps are
looked up by bisection, repeats through one word index.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from functools import cache

from qms.deid.text import dates, hints as hinting, lexicon, names, patterns, places
from qms.deid.text.hints import Hints
from qms.deid.text.occurrences import WordIndex
from qms.deid.text.phi import PhiType, Span
from qms.text_trie import alternation

__all__ = ["find", "protected", "resolve"]

# On equal length, the more specific type wins (a fax number found by its "fax" label, not as a phone).
_PRIORITY = {t: i for i, t in enumerate((
    PhiType.DATE, PhiType.SSN, PhiType.FAX, PhiType.PHONE, PhiType.EMAIL, PhiType.URL, PhiType.UID, PhiType.IP,
    PhiType.MRN, PhiType.ACCESSION, PhiType.ACCOUNT, PhiType.ZIP, PhiType.AGE, PhiType.ADDRESS,
    PhiType.INSTITUTION, PhiType.CITY, PhiType.NAME, PhiType.ID,
))}
_PROTECTABLE = frozenset({PhiType.NAME, PhiType.CITY, PhiType.INSTITUTION, PhiType.ID})


@cache
def _clinical() -> re.Pattern[str]:
    terms = {t.term.lower() for t in lexicon.clinical_terms()}
    return re.compile(r"(?<![\w])(?i:" + alternation(terms) + r")(?![\w])")


@cache
def _proper_terms() -> frozenset[str]:
    """Terms that are themselves proper names (eponyms, devices, brands): never a person's name."""
    return frozenset(t.term.lower() for t in lexicon.clinical_terms()
                     if t.category in ("eponym", "device", "medication"))


def protected(text: str) -> list[tuple[int, int]]:
    """Where the clinical terms of the list occur in `text` (in order, never overlapping)."""
    return [(m.start(), m.end()) for m in _clinical().finditer(text)]


class _Protected:
    """The clinical terms of a text, looked up by bisection."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.terms = protected(text)
        self._starts = [b for b, _ in self.terms]

    def hits(self, span: Span) -> list[tuple[int, int]]:
        found = []
        i = bisect_left(self._starts, span.end) - 1
        while i >= 0 and self.terms[i][1] > span.start:
            found.append(self.terms[i])
            i -= 1
        return found

    def spares(self, span: Span) -> bool:
        """A span is kept unless it would replace a clinical term.

        Only a proper term (eponym, device, medication) stops a named institution or a name found by
        its context ("Aaron Colon, MD" is a name; "the colon" is anatomy and a bare "Colon" elsewhere is kept).
        """
        if span.kind not in _PROTECTABLE or span.source == places.CITY_STATE_ZIP_SOURCE:
            return True
        hits = self.hits(span)
        if span.kind is PhiType.INSTITUTION or span.source in ("context", "hint", "label"):
            hits = [(b, e) for b, e in hits if self.text[b:e].lower() in _proper_terms()]
        return not hits


def _candidates(text: str) -> list[Span]:
    found = [Span(s, e, PhiType.DATE, "dates") for s, e in dates.find(text)]
    found += patterns.find(text)
    found += places.find(text)
    found += names.find(text)
    return found


def resolve(spans: list[Span]) -> list[Span]:
    """Non-overlapping spans in order: the longest first, then one a rule found, then the more specific type."""
    starts: list[int] = []
    kept: list[Span] = []
    # On equal length a hint yields to a rule that knows the kind: a hinted PatientAddress is an address, not an id.
    for span in sorted(spans, key=lambda s: (s.start - s.end, s.source == "hint", _PRIORITY[s.kind], s.start)):
        i = bisect_right(starts, span.start)
        if (i > 0 and kept[i - 1].end > span.start) or (i < len(kept) and kept[i].start < span.end):
            continue
        starts.insert(i, span.start)
        kept.insert(i, span)
    return kept


def _repeat(text: str, spans: list[Span]) -> list[Span]:
    """Other occurrences of a found value (the MRN in the header, again in the footer)."""
    # Not dates nor ages: their rules find every one, and "7/10" found as a date is a pain score elsewhere.
    values = {(s.text(text), s.kind) for s in spans if s.end - s.start >= 4 and s.kind not in (PhiType.DATE, PhiType.AGE)}
    if not values:
        return []
    index = WordIndex(text)
    return [Span(start, start + len(value), phi_type, "repeat")
            for value, phi_type in values for start in index.values(value)
            if phi_type is not PhiType.NAME or not _word_like(text, start, start + len(value))]


def _word_like(text: str, start: int, end: int) -> bool:
    """A name met again as part of a word ("Hill-Sachs") or as a word opening a sentence ("Hope this helps")."""
    joined = (start > 0 and text[start - 1] in "-'") or (end < len(text) and text[end] in "-'")
    return joined or names.reads_as_word(text, start, end)


def find(text: str, hints: Hints = Hints()) -> list[Span]:
    """The identifiers of `text`: non-overlapping spans, in order; hinted values are found wherever they are."""
    keep = _Protected(text)
    spans = resolve([s for s in _candidates(text) + hinting.find(text, hints) if keep.spares(s)])
    return resolve(spans + [s for s in _repeat(text, spans) if keep.spares(s)])
