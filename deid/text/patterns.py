"""Identifiers with a shape: contact details, numbers, addresses, ages over 89.

Each rule is a regular expression and the Safe Harbor type it finds; context words
("MRN", "Acc #", "fax") decide the type of a number that has no shape of its own.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from qms.deid.text import lexicon
from qms.deid.text.phi import PhiType, Span

__all__ = ["DICOM_KEYWORDS", "find", "RULES"]

_ID = r"(?P<v>(?=[\w\-.]*\d)[A-Za-z0-9](?:[A-Za-z0-9\-]|\.(?=[A-Za-z0-9])){2,24})(?![\w\-])"  # "123.456.789" too  # after its label, any code with a digit
_SEP = r"\s*(?:#|no\.?|number|num)?\s*[:#=]?\s*"
_STREET = "|".join(sorted({*lexicon.street_suffixes(), "St", "Ave", "Rd", "Blvd", "Dr", "Ln", "Ct", "Pl", "Ter",
                           "Pkwy", "Hwy", "Cir", "Sq", "Trl"}, key=len, reverse=True))
_STATE = "|".join(sorted(lexicon.STATES | lexicon.STATE_NAMES, key=len, reverse=True))
_U, _L = lexicon.UPPER, lexicon.LOWER
_CAP = rf"[{_U}][{_L}]+(?:[ '\-][{_U}][{_L}]+)*"
_CAPW = rf"(?:[{_U}][{_L}]+|[{_U}]{{2,}})(?:'[{_U}{_L}]+)?"
_UNIT = r"(?:Apt|APT|Apartment|APARTMENT|Suite|SUITE|Ste|STE|Unit|UNIT|Rm|Room|ROOM|#)\.?[ \t]*#?[ \t]*\d+[A-Z]?\b"
_LOWER_STREET = (rf"(?:[nsew]\.?[ \t]+)?(?:\d{{1,3}}(?:st|nd|rd|th)|[{_L}][{_L}'\-]+)(?:[ \t]+[{_L}][{_L}'\-]+){{0,2}}"
                 rf"[ \t]+(?i:{_STREET})\b\.?(?:,?[ \t]+(?i:{_UNIT}))?")
_AGE = r"(?:9\d|1[0-4]\d)"  # ages over 89 (45 CFR §164.514(b)(2)(i)(C)); 150 and over is no age
_UNITS = ("one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen|"
          "seventeen|eighteen|nineteen|twenty")
_AGE_WORDS = rf"(?:ninety(?:[ \-]?(?:{_UNITS}))?|(?:one|a)[ \-]hundred(?:(?:[ \-]|[ ]and[ ])(?:{_UNITS}|\d{{1,2}}))?)"
_AGE_AFTER = (r"(?=[ \t\-]*(?:years?[ \t\-]*(?:old|of age)|y[a-z]{1,5}[ \t\-]+old\b|y[a-z]{1,5}-old\b|y\.?[ \t]?o\b\.?|yo\b|y/o|yrs?\b|years?\b|-?year-old|"
              r"y\b|F\b|M\b|female|male|woman|man|lady|gentleman|[ \t]*/[ \t]*(?:F|M)\b))")
_AGE_BEFORE = (r"(?i:\b(?:age[ds]?|age:|age of|at age|aged?[ \t]+of|(?:patient|pt|she|he|who|woman|man|female|male|"
               r"lady|gentleman|mother|father)[ \t]+(?:is|was|turned|now)(?:[ \t]+now)?(?:[ \t]+an?)?|turned|(?:F|M)[ \t]*/)"
               r"[ \t]*:?[ \t]*)")

# (type, pattern, group): the group is the identifier; context words around it are not.
RULES: tuple[tuple[PhiType, re.Pattern[str], str], ...] = tuple((t, re.compile(p), g) for t, p, g in (
    # An "@" between word characters is an address with or without its domain's end (cut at a 64-character LO).
    (PhiType.EMAIL, r"(?P<v>\b[\w.+\-]*\w@\w[\w\-]*(?:\.[\w\-]+)*\b)", "v"),
    (PhiType.URL, r"(?P<v>\b(?:https?://|www\.)[^\s<>\"')\]]+[^\s<>\"')\].,;:])", "v"),
    (PhiType.IP, r"(?P<v>(?<![\d.])(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)(?!\d|\.\d))", "v"),
    (PhiType.SSN, r"(?P<v>(?<![\d\-])\d{3}-\d{2}-\d{4}(?![\d\-]))", "v"),
    (PhiType.SSN, r"(?i:\bSSN|social security(?: number)?)" + _SEP + r"(?P<v>\d{3}[- ]?\d{2}[- ]?\d{4})\b", "v"),
    (PhiType.FAX, r"(?i:\bfax|\bf:)\s*(?:#|no\.?|number)?\s*:?\s*(?P<v>(?:\+?1[\s.\-]?)?\(?\d{3}\)?[\s.\-]?\d{3}[\s.\-]\d{4})(?!\d)", "v"),
    (PhiType.PHONE, r"(?P<v>(?<![\w\-+.])(?:\+?1[\s.\-]?)?(?:\(\d{3}\)[ \t]?|\d{3}[\s.\-]?)\d{3}[\s.\-]?\d{4}"
                    r"(?:[ \t]*(?i:x|ext\.?|extension)[ \t]*\d{1,5})?)(?![\w\-]|\.\d)", "v"),
    (PhiType.PHONE, r"(?P<v>(?<![\w.\-/])\d{3}-\d{4}(?![\w\-/]|\.\d))", "v"),
    (PhiType.PHONE, r"(?i:\b(?:pager|phone|tel|telephone|ext|extension|call(?:ed)?(?: back)?(?: at)?|beeper|cell|spectra(?:link)?)\.?)\s*(?:#|no\.?)?\s*:?\s*(?P<v>\d[\d\-]{3,8}\d)\b", "v"),
    (PhiType.MRN, r"(?i:\b(?:MRN|MR|medical record(?: number| no)?|med rec|record(?: number| no)?|patient ?id|pt\.? id|"
     r"patient identifier|hospital number|unit number|chart(?: number)?|case(?: number| no)?|identifier|ID))\b"
     + _SEP + _ID, "v"),
    (PhiType.ACCESSION, r"(?i:\b(?:accession|acc|accn|exam(?: number| no\.?| id| #)|study id|order))\b" + _SEP + _ID, "v"),
    (PhiType.ACCOUNT, r"(?i:\b(?:account|acct|fin|encounter|csn|visit|har|billing(?: number)?))\b" + _SEP + _ID, "v"),
    (PhiType.ID, r"(?i:\b(?:insurance|ins|member|policy|subscriber|health plan|beneficiary|license|licence|lic|"
                 r"certificate|device serial|serial|s/n|sn|npi|dea|vin|plate|dl|driver'?s? licen[cs]e))\b[^\n:#=]{0,20}?"
                 + _SEP + _ID, "v"),
    (PhiType.ID, r"(?P<v>(?<![\w.\-/])[A-Za-z]{1,4}(?:-\d{2,}){2,}(?![\w\-/]|\.\d))", "v"),
    (PhiType.ID, r"(?P<v>(?<![\w.\-/])[A-Za-z]{1,4}-?\d{5,}[A-Za-z]?(?![\w\-/]|\.\w))", "v"),
    (PhiType.ID, r"(?P<v>(?<![\w.\-/])(?=[A-Z\d]*\d)[A-Z]{0,3}\d{7,}[A-Z]?(?![\w\-/]|\.\w))", "v"),
    (PhiType.AGE, rf"(?P<v>\b{_AGE})(?i:{_AGE_AFTER})", "v"),
    (PhiType.AGE, rf"{_AGE_BEFORE}(?P<v>{_AGE})(?![\d:%/]|[.,]\d|[ \t]*(?:%|percent|mm|cm|kg|lb|bpm|beats|mg|ml))\b", "v"),
    (PhiType.AGE, rf"(?P<v>\b(?i:{_AGE_WORDS}))(?i:{_AGE_AFTER})", "v"),
    (PhiType.AGE, rf"{_AGE_BEFORE}(?P<v>(?i:{_AGE_WORDS}))\b", "v"),
    (PhiType.AGE, r"(?P<v>\b0?(?:9\d|1[0-4]\d)Y)\b", "v"),  # DICOM AS, "091Y"
    (PhiType.AGE, r"(?i:\bin[ \t]+(?:his|her|their|the)[ \t]+(?:early[ \t]+|mid-?[ \t]*|late[ \t]+)?)"
                  r"(?P<v>90'?s|(?i:nineties)|100'?s)\b", "v"),
    (PhiType.AGE, r"(?P<v>\b(?i:nonagenarian|centenarian|supercentenarian)s?)\b", "v"),
    (PhiType.UID, r"(?P<v>(?<![\w.])[0-2](?:\.(?:0|[1-9]\d*)){4,}(?![\w]|\.\d))", "v"),
    (PhiType.UID, r"(?P<v>(?<![\w.])2\.25\.\d{6,39}(?![\w]|\.\d))", "v"),
    (PhiType.ID, r"(?P<v>(?<![\w.\-/])\d{2,}(?:-\d{2,}){2,}(?![\w\-/]|\.\d))", "v"),
    (PhiType.ADDRESS, rf"(?P<v>\b\d{{1,6}}(?:-\d{{1,4}})?[ \t]+(?:[NSEWnsew]\.?[ \t]+|(?i:north|south|east|west)[ \t]+)?"
                      rf"(?:\d{{1,3}}(?:st|nd|rd|th|ST|ND|RD|TH)|{_CAPW})(?:[ \t]+{_CAPW}){{0,2}}[ \t]+(?i:{_STREET})\b\.?"
                      rf"(?:,?[ \t]+{_UNIT})?)", "v"),
    # In lower case a street is an address only where an address goes on (a unit, a city and zip) or is announced.
    (PhiType.ADDRESS, rf"(?P<v>(?<![\w.])\d{{1,6}}(?:-\d{{1,4}})?[ \t]+{_LOWER_STREET})"
                      rf"(?=,?[ \t]+(?i:{_UNIT})|,[ \t]*[{_L} .'\-]+,[ \t]*[{_L}]{{2}}\.?[ \t]+\d{{5}})", "v"),
    (PhiType.ADDRESS, rf"(?i:address|lives[ \t]+at|resides[ \t]+at)[ \t]*:?[ \t]*"
                      rf"(?P<v>\d{{1,6}}(?:-\d{{1,4}})?[ \t]+{_LOWER_STREET})", "v"),
    (PhiType.ADDRESS, r"(?P<v>\b(?i:apt|apartment|suite|ste)\.?[ \t]*#?[ \t]*\d+[A-Za-z]?)\b", "v"),
    (PhiType.ADDRESS, r"(?P<v>\b(?:(?i:P\.?[ \t]?O\.?[ \t]*Box|Post Office Box))[ \t]+\d+)", "v"),
    (PhiType.ZIP, rf"(?:\b(?:{_STATE})\.?,?\s+)(?P<v>\d{{5}}(?:-\d{{4}})?)\b", "v"),
    (PhiType.ZIP, r"(?i:\bzip(?: code)?|postal code)\s*:?\s*(?P<v>\d{5}(?:-\d{4})?)\b", "v"),
))


# A DICOM header written into text (a teleradiology dump: `PatientName = ROE^JANE`, or dcmdump's
# `(0010,0010) PN [ROE^JANE]  # 8, 1 PatientName`): the value of an identifying attribute, whatever its shape.
DICOM_KEYWORDS: dict[str, PhiType] = {
    "PatientName": PhiType.NAME, "OtherPatientNames": PhiType.NAME, "PatientBirthName": PhiType.NAME,
    "PatientMotherBirthName": PhiType.NAME, "ReferringPhysicianName": PhiType.NAME, "ResponsiblePerson": PhiType.NAME,
    "PerformingPhysicianName": PhiType.NAME, "NameOfPhysiciansReadingStudy": PhiType.NAME,
    "OperatorsName": PhiType.NAME, "RequestingPhysician": PhiType.NAME, "PhysiciansOfRecord": PhiType.NAME,
    "PatientID": PhiType.MRN, "OtherPatientIDs": PhiType.MRN, "AccessionNumber": PhiType.ACCESSION,
    "AdmissionID": PhiType.ACCOUNT, "StudyID": PhiType.ID, "DeviceSerialNumber": PhiType.ID,
    "StationName": PhiType.ID, "InstitutionName": PhiType.INSTITUTION, "InstitutionAddress": PhiType.ADDRESS,
    "PatientAddress": PhiType.ADDRESS, "PatientTelephoneNumbers": PhiType.PHONE,
    "InstitutionalDepartmentName": PhiType.INSTITUTION, "IssuerOfPatientID": PhiType.INSTITUTION,
}
_KEYWORD = "|".join(sorted(DICOM_KEYWORDS, key=len, reverse=True))
_DUMPS = (
    re.compile(rf"(?<![\w])(?P<kw>{_KEYWORD})[ \t]*(?:\([0-9A-Fa-f]{{4}},[0-9A-Fa-f]{{4}}\)[ \t]*)?(?:[A-Z]{{2}}[ \t]+)?"
               r"[=:][ \t]*\[?(?P<v>[^\]\n]*[^\]\s])\]?[ \t]*$", re.M),
    re.compile(r"\([0-9A-Fa-f]{4},[0-9A-Fa-f]{4}\)[ \t]+[A-Z]{2}[ \t]+\[(?P<v>[^\]\n]+)\][^\n]*?#[^\n]*?"
               rf"\b(?P<kw>{_KEYWORD})\b"),
)


def find(text: str) -> Iterator[Span]:
    """Every identifier a rule matches; overlapping finds are resolved by the caller."""
    for phi_type, pattern, group in RULES:
        for m in pattern.finditer(text):
            if m.end(group) > m.start(group):  # a label before the value: only a proper term may stop it
                yield Span(m.start(group), m.end(group), phi_type, "label" if m.start(group) > m.start() else "pattern")
    for dump in _DUMPS:
        for m in dump.finditer(text):
            yield Span(m.start("v"), m.end("v"), DICOM_KEYWORDS[m["kw"]], "dicom")
