"""Identifiers with a shape: contact details, numbers, addresses, ages over 89.

Each rule is a regular expression and the Safe Harbor type it finds; context words
("MRN", "Acc #", "fax") decide the type of a number that has no shape of its own.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from qms.deid.text import lexicon
from qms.deid.text.phi import PhiType, Span

_ID = r"(?P<v>[A-Z]{0,4}[-#]?\d[\dA-Z\-]{0,19})(?![\w\-])"  # after its label, any number is an identifier
_SEP = r"\s*(?:#|no\.?|number|num)?\s*[:#=]?\s*"
_STREET = "|".join(sorted({*lexicon.street_suffixes(), "St", "Ave", "Rd", "Blvd", "Dr", "Ln", "Ct", "Pl", "Ter",
                           "Pkwy", "Hwy", "Cir", "Sq", "Trl"}, key=len, reverse=True))
_STATE = "|".join(sorted(lexicon.STATES | lexicon.STATE_NAMES, key=len, reverse=True))
_CAP = r"[A-Z][a-z]+(?:[ '\-][A-Z][a-z]+)*"

# (type, pattern, group): the group is the identifier; context words around it are not.
RULES: tuple[tuple[PhiType, re.Pattern[str], str], ...] = tuple((t, re.compile(p), g) for t, p, g in (
    (PhiType.EMAIL, r"(?P<v>\b[\w.+\-]+@[\w\-]+(?:\.[\w\-]+)+\b)", "v"),
    (PhiType.URL, r"(?P<v>\b(?:https?://|www\.)[^\s<>\"')\]]+[^\s<>\"')\].,;:])", "v"),
    (PhiType.IP, r"(?P<v>(?<![\d.])(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)(?!\d|\.\d))", "v"),
    (PhiType.SSN, r"(?P<v>(?<![\d\-])\d{3}-\d{2}-\d{4}(?![\d\-]))", "v"),
    (PhiType.SSN, r"(?i:\bSSN|social security(?: number)?)" + _SEP + r"(?P<v>\d{3}[- ]?\d{2}[- ]?\d{4})\b", "v"),
    (PhiType.FAX, r"(?i:\bfax|\bf:)\s*(?:#|no\.?|number)?\s*:?\s*(?P<v>(?:\+?1[\s.\-]?)?\(?\d{3}\)?[\s.\-]?\d{3}[\s.\-]\d{4})(?!\d)", "v"),
    (PhiType.PHONE, r"(?P<v>(?<![\w\-])(?:\+?1[\s.\-])?(?:\(\d{3}\)\s?|\d{3}[\s.\-])\d{3}[\s.\-]\d{4}(?:\s?(?:x|ext\.?)\s?\d{1,5})?)(?!\d)", "v"),
    (PhiType.PHONE, r"(?i:\b(?:pager|phone|tel|telephone|ext|extension|call(?:ed)?(?: back)?(?: at)?|beeper|cell|spectra(?:link)?)\.?)\s*(?:#|no\.?)?\s*:?\s*(?P<v>\d[\d\-]{3,8}\d)\b", "v"),
    (PhiType.MRN, r"(?i:\b(?:MRN|MR|medical record(?: number)?|patient ?id|pt id|patient identifier|hospital number|unit number|chart(?: number)?))" + _SEP + _ID, "v"),
    (PhiType.ACCESSION, r"(?i:\b(?:accession|acc|accn|exam(?: number| no\.?| id| #)|study id|order))" + _SEP + _ID, "v"),
    (PhiType.ACCOUNT, r"(?i:\b(?:account|acct|fin|encounter|csn|visit|har|billing(?: number)?))" + _SEP + _ID, "v"),
    (PhiType.ID, r"(?i:\b(?:insurance|member|policy|subscriber|health plan|beneficiary|license|licence|certificate|device serial|serial|npi|dea|vin|plate))\b[^\n:#]{0,20}?" + _SEP + _ID, "v"),
    (PhiType.ID, r"(?P<v>(?<![\w.\-/])(?=[A-Z\d]*\d)[A-Z]{0,3}\d{7,}[A-Z]?(?![\w.\-/]))", "v"),
    (PhiType.AGE, r"(?P<v>\b(?:9\d|1[0-4]\d))(?=[\s\-]*(?:years?[\s\-]*old|y\.?\s?o\b|yo\b|y/o|yrs?\b|years?\b|-?year-old|F\b|M\b|female|male|woman|man|lady|gentleman))", "v"),
    (PhiType.AGE, r"(?i:\b(?:age|aged|age:))\s*(?P<v>(?:9\d|1[0-4]\d))\b", "v"),
    (PhiType.ADDRESS, rf"(?P<v>\b\d{{1,6}}(?:-\d{{1,4}})?\s+(?:[NSEW]\.?\s+|North |South |East |West )?(?:\d{{1,3}}(?:st|nd|rd|th)|{_CAP})(?:\s+{_CAP})?\s+(?:{_STREET})\b\.?(?:,?\s+(?:Apt|Apartment|Suite|Ste|Unit|#)\.?\s*#?\s*\w+)?)", "v"),
    (PhiType.ADDRESS, r"(?P<v>\b(?:P\.?\s?O\.?\s+Box|Post Office Box)\s+\d+)", "v"),
    (PhiType.ZIP, rf"(?:\b(?:{_STATE})\.?,?\s+)(?P<v>\d{{5}}(?:-\d{{4}})?)\b", "v"),
    (PhiType.ZIP, r"(?i:\bzip(?: code)?|postal code)\s*:?\s*(?P<v>\d{5}(?:-\d{4})?)\b", "v"),
))


def find(text: str) -> Iterator[Span]:
    """Every identifier a rule matches; overlapping finds are resolved by the caller."""
    for phi_type, pattern, group in RULES:
        for m in pattern.finditer(text):
            if m.end(group) > m.start(group):
                yield Span(m.start(group), m.end(group), phi_type)
