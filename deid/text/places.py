"""Places smaller than a state (45 CFR §164.514(b)(2)(i)(B)): cities and named institutions."""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import cache

from qms.deid.text import lexicon, names
from qms.deid.text.phi import PhiType, Span

__all__ = ["CITY_STATE_ZIP", "CITY_STATE_ZIP_SOURCE", "FACILITY_WORDS", "find"]

FACILITY_WORDS = (
    "Hospital", "Hospitals", "Medical Center", "Medical Centre", "Health Center", "Health System", "Health",
    "Healthcare", "Health Care", "Clinic", "Clinics", "Infirmary", "Imaging", "Imaging Center", "Radiology",
    "Radiology Associates", "Cancer Center", "Cancer Institute", "Surgery Center", "Surgical Center",
    "Nursing Home", "Rehabilitation Center", "Rehab", "Urgent Care", "Medical Group", "Physicians",
    "Diagnostic Center", "Diagnostics", "Heart Institute", "Memorial", "Sanatorium", "Hospice", "Care Center",
    "Children's", "Medicine", "University", "College",
)
# Words that make a capitalised phrase a department or a generic place, not a named institution.
_GENERIC = frozenset({
    "The", "Outside", "Emergency", "Department", "Diagnostic", "Interventional", "Our", "This", "Another",
    "Nuclear", "Internal", "Family", "Vascular", "Pediatric", "Neuro", "Musculoskeletal", "Body", "Thoracic",
    "Breast", "Cardiac", "Abdominal", "Chest", "General", "Community", "Radiology", "Imaging", "Medical",
    "Health", "Hospital", "Clinic", "Critical", "Intensive", "Care", "Unit", "Division", "Section", "Service",
    "Emergency Medicine", "Sports", "Primary", "Urgent", "Physical", "Occupational", "Respiratory", "IMPRESSION",
    "FINDINGS", "History", "Comparison", "Technique", "Per", "Transferred", "From", "At", "In", "Seen",
    "Study", "Exam", "Prior", "Images", "Report", "To", "Of", "With",
})
_U, _L = lexicon.UPPER, lexicon.LOWER
_CAPWORD = rf"(?:St\.|Mt\.|(?:[OD]'|Mc|Mac)?[{_U}][{_L}]+(?:'s)?|[{_U}]{{2,5}}(?![{_L}]))"
_LINK = r"(?:[ \t]+(?:of|and|the|for|at|&|de|del|la|van|von|der)[ \t]+|[ \t]+|-)"


@cache
def _institution() -> re.Pattern[str]:
    words = "|".join(sorted((re.escape(w) for w in FACILITY_WORDS), key=len, reverse=True))
    tail = rf"(?:\s+(?:of|at|in)\s+(?:the\s+)?{_CAPWORD}(?:\s+{_CAPWORD}){{0,3}})?"
    lead = r"(?:University of |Saint |St\. |(?:(?:de|van|von|da|del|der|den|la|le|du|di) ){1,2})?"
    particle_last = r"(?:[ \t]+(?:van|von|de|der|den))?"  # "Dussen van Clinic"
    return re.compile(rf"(?<![\w'])(?:{lead}){_CAPWORD}(?:{_LINK}{_CAPWORD}){{0,4}}{particle_last}[ \t]+(?:{words})\b{tail}")


@cache
def _institution_cased() -> tuple[re.Pattern[str], re.Pattern[str]]:
    """All-caps (a RIS printout) and lower-case (a chat message) institution names."""
    upper = "|".join(sorted((re.escape(w.upper()) for w in FACILITY_WORDS), key=len, reverse=True))
    lower = "|".join(sorted((re.escape(w.lower()) for w in FACILITY_WORDS), key=len, reverse=True))
    word_u, word_l = rf"[{_U}][{_U}'\-.]*", rf"[{_L}][{_L}'\-]*\.?"
    return (re.compile(rf"(?<![\w'])(?:{word_u}[ ]){{1,5}}(?:{upper})(?:[ ](?:{upper}))*\b"),
            re.compile(rf"\b(?:from|at|to|in|of)[ ](?:the[ ])?(?P<v>(?:{word_l}[ ]){{1,5}}?(?:{lower})(?:[ ](?:{lower}))*)\b"))


@cache
def _university_of() -> re.Pattern[str]:
    return re.compile(rf"\b(?:University|College) of (?:the )?{_CAPWORD}(?:\s+{_CAPWORD}){{0,3}}")


@cache
def _lower_cities() -> frozenset[str]:
    return frozenset(c.lower() for c in lexicon.cities())


@cache
def _city() -> re.Pattern[str]:
    names = "|".join(sorted((re.escape(c) for c in lexicon.cities()), key=len, reverse=True))
    return re.compile(rf"(?<![\w.])(?:{names})(?![\w'\-])")


_STATE = "|".join(sorted(lexicon.STATES | lexicon.STATE_NAMES, key=len, reverse=True))
_STATE_NAMES = "|".join(sorted(lexicon.STATE_NAMES, key=len, reverse=True))
_STATE_ABBR = "|".join(sorted(lexicon.STATES))
# Also credentials, modalities and words ("Roe, MD."; "views, CT."): such a state counts only before a zip.
_STATE_ABBR_ALONE = "|".join(sorted(lexicon.STATES - {"MD", "PA", "CT", "DE", "ME", "OR", "IN", "OK", "HI", "MS", "DO"}))
# "CT" and "PA" are modalities and views too: an abbreviation counts only before a zip or at a line's end.
_CITY_STATE = re.compile(rf"(?P<v>(?<![\w'])[{_U}][{_L}]+(?:[ \-][{_U}][{_L}]+){{0,2}}),[ \t]+"
                         rf"(?:(?:{_STATE_ABBR})(?=[ \t]+\d{{5}})|(?:{_STATE_ABBR_ALONE})(?=[ \t]*(?:$|[.;)]))|"
                         rf"(?:{_STATE_NAMES})\b)", re.M)
# City, state and zip written together: one span; the surrogate keeps the state (Safe Harbor allows it).
_CAPS = rf"(?:[{_U}][{_L}]+|[{_U}]{{2,}}|St\.|Ft\.|Mt\.)"
CITY_STATE_ZIP = re.compile(rf"(?<![\w'])(?P<city>{_CAPS}(?:[ \-]{_CAPS}){{0,2}}|[{_L}]+)(?P<sep>,?[ \t]+)"
                            rf"(?P<state>(?:{_STATE_ABBR}|{_STATE_NAMES})|(?i:{_STATE_ABBR}))(?P<sep2>\.?,?[ \t]+)"
                            rf"(?P<zip>\d{{5}}(?:-\d{{4}})?(?![\w\-])|\d{{1,4}}\Z)")  # a zip cut with its text too
_AFTER_STREET = re.compile(r"\d[\w.]*,[ \t]*\Z")  # a city written after the street or unit of its address
CITY_STATE_ZIP_SOURCE = "city-state-zip"  # its state ("PA", "CT") stays in the surrogate: no clinical term is lost
_CITY_CONTEXT = re.compile(r"(?:\b(?:in|from|to|at|near|of|lives|resident|resides)\s+(?:the\s+)?|,\s*|^|\n)\Z")
_CITY_AFTER = re.compile(rf"\A(?:,\s*(?:{_STATE})\b|\s+(?:area|region|campus|office|location|site)\b)")


def _named(span: str) -> bool:
    """A phrase names an institution when a word other than generic ones leads it."""
    words = span.replace("-", " ").split()
    facility = {w.lower() for phrase in FACILITY_WORDS for w in phrase.split()} - {"memorial"}
    if (span.isupper() or span.islower()) and all(w.lower() in names.report_words() or w.lower() in facility
                                                  for w in words):
        return False  # "CT CHEST RADIOLOGY", "the er radiology": report words, not a name
    head = [w for w in (w.title() if span.isupper() or span.islower() else w for w in words)
            if w not in _GENERIC and (w not in FACILITY_WORDS or w == "Memorial") and w[0].isupper()]
    return bool(head) and len(words) > 1


_LEADING_WORD = re.compile(r"[^\s]+[ \t]+")
_BEFORE_PLACE = frozenset("from at to in of by per with for via".split())


def _after_ordinary(text: str, start: int, end: int) -> int:
    """Where a facility's name starts once English words up to a preposition that lead an all-caps or lower-case
    phrase are left out ("OUTSIDE FILMS FROM QUARRY HOLLOW IMAGING": the films stay)."""
    phrase = text[start:end]
    if not (phrase.isupper() or phrase.islower()):
        return start
    cut, at = start, start
    while (m := _LEADING_WORD.match(text, at, end)) and m.group().strip().lower() in _leading_words():
        at = m.end()
        if m.group().strip().lower() in _BEFORE_PLACE:
            cut = at  # through the last "from"/"at": "HOPE MEDICAL CENTER" itself starts with a word
    return cut


@cache
def _leading_words() -> frozenset[str]:
    facility = {w.lower() for phrase in FACILITY_WORDS for w in phrase.split()}
    return frozenset((lexicon.english_words() | names.report_words() | {w.lower() for w in _GENERIC}) - facility)


def find(text: str) -> Iterator[Span]:
    for pattern in (_institution(), _university_of(), *_institution_cased()):
        for m in pattern.finditer(text):
            group = "v" if "v" in pattern.groupindex else 0
            start = _after_ordinary(text, m.start(group), m.end(group))
            if _named(text[start:m.end(group)]):
                yield Span(start, m.end(group), PhiType.INSTITUTION, "places")
    for m in CITY_STATE_ZIP.finditer(text):
        city = m.group("city")
        in_address = _AFTER_STREET.search(text, max(0, m.start() - 40), m.start()) is not None  # "12 elm st, bemidji"
        if city.split()[0] not in _GENERIC and (not city.islower() or city in _lower_cities() or in_address):
            yield Span(m.start(), m.end(), PhiType.CITY, CITY_STATE_ZIP_SOURCE)
    for m in _CITY_STATE.finditer(text):
        if m.group("v").split()[0] not in _GENERIC:
            yield Span(m.start("v"), m.end("v"), PhiType.CITY, "places")
    for m in _city().finditer(text):
        before, after = text[max(0, m.start() - 20):m.start()], text[m.end():m.end() + 20]
        if _CITY_CONTEXT.search(before) or _CITY_AFTER.match(after):
            yield Span(m.start(), m.end(), PhiType.CITY, "places")
