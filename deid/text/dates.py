"""Dates in report text: find them in every common format, and shift one keeping its format.

Safe Harbor (45 CFR §164.514(b)(2)(i)(C)) removes all elements of a date except the year;
here a date is instead moved by the patient's keyed offset (the same one the DICOM
pipeline applies, PS3.15 Annex E "retain longitudinal temporal information with modified
dates"), and written back in the very format it was found in.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta

_MONTHS = ["january", "february", "march", "april", "may", "june", "july", "august", "september",
           "october", "november", "december"]
_ABBR = {m[:3]: i + 1 for i, m in enumerate(_MONTHS)} | {"sept": 9}
_FULL = {m: i + 1 for i, m in enumerate(_MONTHS)}


def _month_alternation() -> str:
    words = sorted(set(_FULL) | set(_ABBR), key=len, reverse=True)
    return "|".join(v for w in words for v in (w.capitalize(), w.upper()))


_MON = rf"(?P<mon>(?:{_month_alternation()}))(?P<dot>\.)?"
_ORD = r"(?P<ord>st|nd|rd|th|ST|ND|RD|TH)?"
_L = r"(?<![\w/.\-])"
_R = r"(?![\w/]|[.\-]\d)"

_DATE_WORDS = r"(?:\b(?:on|dated|from|since|DOB:?|[Dd]ate:|DATE:|study date)\s)"


@dataclass(frozen=True)
class _Format:
    """A date body, and the words that must come before it when the body alone is ambiguous."""

    body: re.Pattern[str]
    context: re.Pattern[str] | None = None


def _fmt(body: str, context: str | None = None) -> _Format:
    return _Format(re.compile(body), None if context is None else re.compile(context + "(?P<body>" + body + ")"))


# Order matters only for shifting a found span: the first body that matches it whole wins.
FORMATS: tuple[_Format, ...] = (
    _fmt(_L + r"(?P<y>(?:19|20)\d{2})(?P<s>[-/.])(?P<m>\d{1,2})(?P=s)(?P<d>\d{1,2})" + _R),
    _fmt(_L + r"(?P<m>\d{1,2})(?P<s>[-/.])(?P<d>\d{1,2})(?P=s)(?P<y>\d{4}|\d{2})" + _R),
    _fmt(_L + _MON + r"\s+(?P<d>\d{1,2})" + _ORD + r"(?P<comma>,)?\s+(?P<y>(?:19|20)\d{2})\b"),
    _fmt(_L + r"(?P<d>\d{1,2})" + _ORD + r"(?P<of>\s+of)?(?P<s>[\s\-]+)" + _MON
         + r"(?P<comma>,)?(?P=s)(?P<y>(?:19|20)\d{2}|\d{2})\b"),
    _fmt(_L + _MON + r"(?P<comma>,)?\s+(?P<y>(?:19|20)\d{2})\b"),
    _fmt(_L + _MON + r"\s+(?P<d>\d{1,2})" + _ORD + r"\b(?!\s*,?\s*(?:19|20)\d{2})(?!\s*(?:mm|cm|%|x\b))"),
    _fmt(_L + r"(?P<d>\d{1,2})" + _ORD + r"(?P<of>\s+of)?\s+" + _MON + r"\b(?!\s*,?\s*(?:19|20)?\d{2}\b)"),
    _fmt(r"(?P<m>\d{1,2})(?P<s>/)(?P<d>\d{1,2})(?![\w/]|\.\d)", _DATE_WORDS),
    _fmt(r"(?P<y>(?:19|20)\d{2})(?P<m>\d{2})(?P<d>\d{2})\b", _DATE_WORDS),
)


@dataclass(frozen=True)
class _Parts:
    day: date
    has_day: bool
    has_year: bool


def _year(text: str) -> int:
    value = int(text)
    if len(text) == 2:
        value += 2000 if value < 50 else 1900
    return value


def _parse(m: re.Match[str]) -> _Parts | None:
    g = m.groupdict()
    if g.get("mon"):
        word = g["mon"].lower()
        month = _FULL.get(word) or _ABBR[word]
    else:
        month = int(g["m"])
    day = int(g["d"]) if g.get("d") else 15
    if g.get("m") and g.get("d") and month > 12 >= day:  # day-first 25/03/2021
        month, day = day, month
    year = _year(g["y"]) if g.get("y") else 2000  # a leap year, so a found 29 Feb parses
    try:
        return _Parts(date(year, month, day), bool(g.get("d")), bool(g.get("y")))
    except ValueError:
        return None


def find(text: str) -> Iterator[tuple[int, int]]:
    """Every (start, end) of a valid date in `text`; overlaps are resolved by the caller."""
    for fmt in FORMATS:
        if fmt.context is None:
            for m in fmt.body.finditer(text):
                if _parse(m) is not None:
                    yield m.start(), m.end()
        else:
            for m in fmt.context.finditer(text):
                if _parse(m) is not None:
                    yield m.start("body"), m.end("body")


def _padded(m: re.Match[str]) -> bool:
    """Whether a date pads its day and month: "03/04" and "12/31" do; "1/22", "Dec 31" and "3 Mar" do not."""
    fields = [m.group(n) for n in ("m", "d") if m.groupdict().get(n)]
    if any(f.startswith("0") for f in fields):
        return True
    return not m.groupdict().get("mon") and all(len(f) == 2 for f in fields)


def _num(value: int, padded: bool) -> str:
    return f"{value:02d}" if padded else str(value)


def _ordinal(day: int, like: str) -> str:
    if not like:
        return ""
    suffix = "th" if 11 <= day % 100 <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")
    return suffix.upper() if like.isupper() else suffix


def _month_word(month: int, like: str) -> str:
    full = _MONTHS[month - 1]
    # "May" reads as full or short; three letters are taken as the short form (Mar, not March).
    word = full if like.lower() in _FULL and len(like) > 3 else ("sept" if like.lower() == "sept" and month == 9
                                                                 else full[:3])
    return word.upper() if like.isupper() and len(like) > 1 else word.capitalize()


def _render(m: re.Match[str], new: date, parts: _Parts) -> str:
    """Rewrite each component of the match in place, so separators, case and padding stay."""
    g = m.groupdict()
    swapped = bool(g.get("m") and g.get("d")) and int(g["m"]) > 12 >= int(g["d"])
    values: dict[str, str] = {}
    if g.get("y"):
        values["y"] = f"{new.year % 100:02d}" if len(g["y"]) == 2 else str(new.year)
    if g.get("m"):
        values["d" if swapped else "m"] = _num(new.month, _padded(m))
    if g.get("d"):
        values["m" if swapped else "d"] = _num(new.day, _padded(m))
    if g.get("mon"):
        values["mon"] = _month_word(new.month, g["mon"])
    if g.get("ord") is not None:
        values["ord"] = _ordinal(new.day, g["ord"])
    out, pos = [], m.start()
    for name in sorted(values, key=lambda n: m.start(n)):
        out.append(m.string[pos:m.start(name)])
        out.append(values[name])
        pos = m.end(name)
    out.append(m.string[pos:m.end()])
    return "".join(out)


def shift(value: str, offset_days: int) -> str | None:
    """`value` moved by `offset_days` in its own format; None when it is no date we read."""
    for fmt in FORMATS:
        m = fmt.body.fullmatch(value)
        parts = None if m is None else _parse(m)
        if m is not None and parts is not None:
            return _render(m, parts.day + timedelta(days=offset_days), parts)
    return None


def parse(value: str) -> date | None:
    """The calendar date `value` names, when it names a whole one (day, month and year)."""
    for fmt in FORMATS:
        m = fmt.body.fullmatch(value)
        parts = None if m is None else _parse(m)
        if parts is not None:
            return parts.day if parts.has_day and parts.has_year else None
    return None
