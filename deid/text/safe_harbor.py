"""Ages over 89 in text: which birth dates must be withheld so that the age cannot be recomputed.

45 CFR §164.514(b)(2)(i)(C) removes ages over 89 "and all elements of dates (including
year) indicative of such age". Shifting every date by one offset keeps intervals, so a
shifted birth date beside a shifted exam date still gives the real age: for a patient over
89 the birth date (or birth year) is withheld instead. The patient is over 89 when the
caller says so, when the text states an age over 89, or when its own dates span 90 years.
"""

from __future__ import annotations

import re
from datetime import date

from qms.deid.text import dates
from qms.deid.text.hints import Hints
from qms.deid.text.phi import PhiType, Span

__all__ = ["birth_dates", "withheld"]

_LABEL = re.compile(r"(?i:\b(?:d\.?o\.?b\.?|date[ \t]+of[ \t]+birth|birth[ \t]*date|born(?:[ \t]+on)?|"
                    r"b-?day|birthday))[ \t]*[:#\-=]?[ \t]*\(?(?:\r?\n[ \t]*)?\Z")
_BIRTH_YEAR = re.compile(r"(?i:\b(?:born(?:[ \t]+in)?|year[ \t]+of[ \t]+birth|yob|birth[ \t]+year)[ \t]*[:\-]?[ \t]*)"
                         r"(?P<y>(?:18|19|20)\d{2})\b")
_REACH = 40


def _age_years(born: date, later: date) -> int:
    return later.year - born.year - ((later.month, later.day) < (born.month, born.day))


def birth_dates(text: str, spans: list[Span], hints: Hints) -> list[Span]:
    """The date spans that are a birth date: after a birth label, or equal to the hinted birth date."""
    hinted = dates.parse(hints.birth_date) if hints.birth_date else None
    return [s for s in spans if s.kind is PhiType.DATE
            and (_LABEL.search(text, max(0, s.start - _REACH), s.start)
                 or (hinted is not None and dates.parse(s.text(text)) == hinted))]


def withheld(text: str, spans: list[Span], hints: Hints) -> tuple[list[Span], frozenset[Span]]:
    """All spans (birth years added when withheld) and the birth dates and years to withhold."""
    births = set(birth_dates(text, spans, hints))
    born = [d for d in (dates.parse(s.text(text)) for s in births) if d is not None]
    if hints.birth_date and (hinted := dates.parse(hints.birth_date)) is not None:
        born.append(hinted)
    others = [d for d in (dates.parse(s.text(text)) for s in spans if s.kind is PhiType.DATE and s not in births)
              if d is not None]
    over_89 = (hints.over_89 or any(s.kind is PhiType.AGE for s in spans)
               or any(_age_years(b, d) >= 90 for b in born for d in others))
    if not over_89:
        return spans, frozenset()
    years = [Span(m.start("y"), m.end("y"), PhiType.DATE, "birth-year") for m in _BIRTH_YEAR.finditer(text)]
    years = [y for y in years if not any(y.overlaps(s) for s in spans)]
    return sorted(spans + years), frozenset(births | set(years))
