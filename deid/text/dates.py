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

__all__ = ["find", "FORMATS", "parse", "shift"]

_MONTHS = ["january", "february", "march", "april", "may", "june", "july", "august", "september",
           "october", "november", "december"]
_ABBR = {m[:3]: i + 1 for i, m in enumerate(_MONTHS)} | {"sept": 9}
_FULL = {m: i + 1 for i, m in enumerate(_MONTHS)}


def _month_alternation(cased: bool = False) -> str:
    words = sorted(set(_FULL) | set(_ABBR), key=len, reverse=True)
    return "|".join(v for w in words for v in (w.capitalize(), w.upper(), *(() if cased else (w,))))


# Other languages' months, in calendar order: a found month is written back in its own language. Only with a
# day and a year beside them ("4. Oktober 2016", "12 de marzo de 2015"): alone, "mai" or "mars" is a word.
_FOREIGN_LISTS = (
    ("januar", "februar", "märz", "april", "mai", "juni", "juli", "august", "september", "oktober", "november",
     "dezember"),
    ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre", "novembre",
     "décembre"),
    ("enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto", "septiembre", "octubre", "noviembre",
     "diciembre"),
    ("januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus", "september", "oktober", "november",
     "december"),
)
_FOREIGN = {w: (i + 1, lang) for lang in _FOREIGN_LISTS for i, w in enumerate(lang) if w not in _FULL}
_ROMAN = ("I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI", "XII")
_MON_FOREIGN = "(?P<mon>(?i:" + "|".join(sorted(_FOREIGN, key=len, reverse=True)) + "))"

_MON = rf"(?P<mon>(?:{_month_alternation()}))(?P<dot>\.)?"
_MON_CASED = rf"(?P<mon>(?:{_month_alternation(cased=True)}))(?P<dot>\.)?"  # no year beside it: "may 2" is a verb
_ORD = r"(?P<ord>st|nd|rd|th|ST|ND|RD|TH)?"
_L = r"(?<![\w/.\-])"
_R = r"(?:(?=T\d{2}:)|(?![\w/]|[.\-]\d))"  # "2012-07-04T14:32": a time may follow

_DATE_WORDS = (r"(?:\b(?:on|dated|from|since|until|through|of|as of|prior|last|today|yesterday|tonight|tomorrow|"
               r"w/|dictated|around|(?i:compared(?: to| with)?|comparison:?|since|dated|prior)|DOB:?|D\.O\.B\.:?|(?i:date)[ \t]*:?|"
               r"(?i:study date|date of birth|birth ?date|date of service|born(?: on)?)[ \t]*:?)\s+)")


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
    _fmt(_L + _MON + r"(?:(?:\s+of)?(?P<comma>,)?\s+|[\-/])(?P<y>(?:19|20)\d{2})\b"),
    _fmt(_L + r"(?P<m>0?[1-9]|1[0-2])(?P<s>[/.\-])(?P<y>(?:19|20)\d{2})" + _R),
    _fmt(_L + r"(?P<y>(?:19|20)\d{2})(?P<s>[/\-])(?P<m>0[1-9]|1[0-2])" + _R),
    _fmt(_L + r"(?P<m>0?[1-9]|1[0-2])(?P<s>/)(?P<d>1[3-9]|2\d|3[01])(?![\w/]|\.\d)"),
    _fmt(_L + _MON_CASED + r"\s+(?P<d>\d{1,2})" + _ORD + r"\b(?!\s*,?\s*(?:19|20)\d{2})(?!\s*(?:mm|cm|%|x\b))"),
    _fmt(_L + r"(?P<d>\d{1,2})" + _ORD + r"(?P<of>\s+of)?\s+" + _MON_CASED + r"\b(?!\s*,?\s*(?:19|20)?\d{2}\b)"),
    _fmt(r"(?P<m>\d{1,2})(?P<s>/)(?P<d>\d{1,2})(?![\w/]|\.\d)", _DATE_WORDS),
    _fmt(r"(?P<m>\d{1,2})(?P<s>/)(?P<d>\d{1,2})(?=\))", r"(?:\b(?:MD|DO|RN|NP|PA-C|PA|PhD|Ph\.D\.),[ \t]+)"),
    _fmt(_L + r"(?P<y>(?:19|20)\d{2})(?P<m>0[1-9]|1[0-2])(?P<d>0[1-9]|[12]\d|3[01])(?![\w/]|[.\-]\d)"),
    # Other countries' writing: "4. Oktober 2016", "12 de marzo de 2015", "17/XI/1987", ISO weeks "2018-W33-2",
    # "1957年8月14日", "19NOV21", "Oct 5th '17".
    _fmt(_L + r"(?P<d>\d{1,2})\.?\s+(?:de\s+)?" + _MON_FOREIGN + r"(?:\s+de)?\s+(?P<y>(?:19|20)\d{2})\b"),
    _fmt(_L + r"(?P<d>\d{1,2})(?P<s>[/.\-])(?P<rom>" + "|".join(reversed(_ROMAN)) + r")(?P=s)(?P<y>(?:19|20)\d{2})\b"),
    _fmt(_L + r"(?P<y>(?:19|20)\d{2})-?W(?P<w>0[1-9]|[1-4]\d|5[0-3])(?:-?(?P<wd>[1-7]))?(?![\w])"),
    _fmt(_L + r"(?P<y>(?:19|20)\d{2})年(?P<m>\d{1,2})月(?P<d>\d{1,2})日"),
    _fmt(_L + r"(?P<d>[0-3]\d)(?P<mon>JAN|FEB|MAR|APR|MAY|JUN|JUL|AUG|SEP|OCT|NOV|DEC)(?P<y>(?:19|20)?\d{2})(?![\w])"),
    _fmt(_L + _MON + r"\s+(?P<d>\d{1,2})" + _ORD + r"\s+'(?P<y>\d{2})(?![\w'])"),
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
    if g.get("w"):
        return _week(g)
    if g.get("mon"):
        word = g["mon"].lower()
        month = _FULL.get(word) or _ABBR.get(word) or _FOREIGN[word][0]
    elif g.get("rom"):
        month = _ROMAN.index(g["rom"]) + 1
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


def _week(g: dict[str, str]) -> _Parts | None:
    """An ISO 8601 week date: the week's Monday when no weekday is written."""
    try:
        return _Parts(date.fromisocalendar(int(g["y"]), int(g["w"]), int(g.get("wd") or 1)), bool(g.get("wd")), True)
    except ValueError:
        return None


_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_WEEKDAY = re.compile(r"(?<![\w'])(?P<wd>(?i:monday|tuesday|wednesday|thursday|friday|saturday|sunday|mon|tues?|wed|"
                      r"thu(?:rs?)?|fri|sat|sun)\.?),?[ \t]+")
_BEFORE = re.compile(_WEEKDAY.pattern + r"\Z")
# A time written with a date belongs to it ("07/04/2012 14:32", "2012-07-04T14:32:10", "July 4, 2012 at 2:30 PM").
_TIME = re.compile(r"(?:,?[ \t]+(?:at[ \t]+|@[ \t]*)?|T)(?:[01]?\d|2[0-3]):[0-5]\d(?::[0-5]\d(?:\.\d+)?)?"
                   r"(?:[ \t]*[AaPp]\.?[Mm]\.?)?(?:Z|[+\-]\d{2}:?\d{2})?(?![\w:])"
                   r"|[ \t]+(?:[01]\d|2[0-3])[0-5]\d[ \t]*(?:h|hrs|hours)\b")
_DAY_ONLY = re.compile(r"(?P<d>[1-9]|[12]\d|3[01])(?P<ord>st|nd|rd|th)")
_ON_THE = re.compile(r"\b(?i:on|by|until|since|from|before|after)[ \t]+the[ \t]+(?P<v>" + _DAY_ONLY.pattern + r")\b")


def _bodies(text: str) -> Iterator[tuple[int, int]]:
    for fmt in FORMATS:
        if fmt.context is None:
            for m in fmt.body.finditer(text):
                if _parse(m) is not None:
                    yield m.start(), m.end()
        else:
            for m in fmt.context.finditer(text):
                if _parse(m) is not None:
                    yield m.start("body"), m.end("body")
    for m in _ON_THE.finditer(text):
        yield m.start("v"), m.end("v")


def find(text: str) -> Iterator[tuple[int, int]]:
    """Every (start, end) of a valid date in `text`, with its weekday and time; overlaps are resolved by the caller."""
    for start, end in _bodies(text):
        before = _BEFORE.search(text, max(0, start - 12), start)
        after = _TIME.match(text, end)
        yield (before.start() if before else start), (after.end() if after else end)


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
    if like.lower() in _FOREIGN:
        full = _FOREIGN[like.lower()][1][month - 1]
        return full.upper() if like.isupper() else full.capitalize() if like[:1].isupper() else full
    word = full if like.lower() in _FULL and len(like) > 3 else ("sept" if like.lower() == "sept" and month == 9
                                                                 else full[:3])
    return word.upper() if like.isupper() and len(like) > 1 else word.capitalize()


def _render(m: re.Match[str], new: date, parts: _Parts) -> str:
    """Rewrite each component of the match in place, so separators, case and padding stay."""
    g = m.groupdict()
    swapped = bool(g.get("m") and g.get("d")) and int(g["m"]) > 12 >= int(g["d"])
    values: dict[str, str] = {}
    if g.get("w"):
        year, week, weekday = new.isocalendar()
        values.update(y=str(year), w=f"{week:02d}", **({"wd": str(weekday)} if g.get("wd") else {}))
        return _replace_groups(m, values)
    if g.get("rom"):
        values["rom"] = _ROMAN[new.month - 1]
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
    return _replace_groups(m, values)


def _replace_groups(m: re.Match[str], values: dict[str, str]) -> str:
    """The match with each named group of `values` rewritten, the text between them as it was."""
    out, pos = [], m.start()
    for name in sorted(values, key=lambda n: m.start(n)):
        out.append(m.string[pos:m.start(name)])
        out.append(values[name])
        pos = m.end(name)
    out.append(m.string[pos:m.end()])
    return "".join(out)


def _weekday(new: date, like: str) -> str:
    full = _WEEKDAYS[new.weekday()]
    word = full if len(like.rstrip(".")) > 4 else full[:len(like.rstrip("."))]
    word = word.upper() if like.isupper() else word if like.islower() else word.capitalize()
    return word + ("." if like.endswith(".") else "")


def shift(value: str, offset_days: int) -> str | None:
    """`value` moved by `offset_days` in its own format (its weekday too); None when it is no date we read."""
    weekday = _WEEKDAY.match(value)
    core_start = weekday.end() if weekday else 0
    time = next((m for m in _TIME.finditer(value, core_start) if m.end() == len(value)), None)
    core = value[core_start:time.start() if time else len(value)]
    day_only = _DAY_ONLY.fullmatch(core)
    if day_only:  # "the 4th": no month to shift in; a keyed day of the same form
        day = (int(day_only["d"]) - 1 + offset_days) % 28 + 1
        return f"{day}{_ordinal(day, day_only['ord'])}"
    moved = _shift_core(core, offset_days)
    if moved is None:
        return None
    head = ""
    if weekday:
        new = parse(core)
        head = value[:core_start].replace(weekday["wd"], _weekday(new + timedelta(days=offset_days), weekday["wd"])) \
            if new else value[:core_start]
    return head + moved + (time.group() if time else "")


def _shift_core(value: str, offset_days: int) -> str | None:
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
