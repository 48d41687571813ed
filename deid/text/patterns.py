"""Identifiers with a shape: contact details, numbers, addresses, ages over 89.

Each rule is a regular expression and the Safe Harbor type it finds; context words
("MRN", "Acc #", "fax") decide the type of a number that has no shape of its own.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import cache

from qms.deid.text import lexicon
from qms.deid.text.phi import PhiType, Span

__all__ = ["DICOM_KEYWORDS", "find", "RULES"]

_ID = r"(?P<v>(?=[\w\-.]*\d)[A-Za-z0-9](?:[A-Za-z0-9\-]|\.(?=[A-Za-z0-9])){2,24})(?![\w\-])"  # "123.456.789" too  # after its label, any code with a digit
_SEP = r"\.?\s*(?:#|no\.?|number|num)?\s*[:#=]?\s*"  # "acc. no. ..." too
_STREET = "|".join(sorted({*lexicon.street_suffixes(), "St", "Ave", "Rd", "Blvd", "Dr", "Ln", "Ct", "Pl", "Ter",
                           "Pkwy", "Hwy", "Cir", "Sq", "Trl",
                           # British and Commonwealth streets
                           "Close", "Crescent", "Cres", "Gardens", "Gdns", "Grove", "Mews", "Rise", "Wynd", "Parade",
                           "Chase", "Croft", "Row", "Walk", "Brae"}, key=len, reverse=True))
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
_AGE_AFTER = (r"(?=[ \t\-]*(?:J\.|Jahre?n?\b|ans\b|a[ñn]os\b|jaar\b|years?[ \t\-]*(?:old|of age)|y[a-z]{1,5}[ \t\-]+old\b|y[a-z]{1,5}-old\b|y\.?[ \t]?o\b\.?|yo\b|y/o|yrs?\b|years?\b|-?year-old|"
              r"y\b|F\b|M\b|female|male|woman|man|lady|gentleman|[ \t]*/[ \t]*(?:F|M)\b))")
_AGE_BEFORE = (r"(?i:\b(?:age[ds]?|âge|edad|alter|age:|age of|at age|aged?[ \t]+of|(?:patient|pt|she|he|who|woman|man|female|male|"
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
    (PhiType.ID, r"(?i:\b(?:ref(?:erence)?|pid|hosp|clin))\b" + _SEP + _ID, "v"),
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
    (PhiType.ADDRESS, r"(?P<v>\b(?i:apt|apartment|suite|ste|flat)\.?[ \t]*#?[ \t]*\d+[A-Za-z]?)\b", "v"),
    (PhiType.ADDRESS, r"(?P<v>\b(?:(?i:P\.?[ \t]?O\.?[ \t]*Box|Post Office Box))[ \t]+\d+)", "v"),
    (PhiType.ZIP, rf"(?:\b(?:{_STATE})\.?,?\s+)(?P<v>\d{{5}}(?:-\d{{4}})?)\b", "v"),
    (PhiType.ZIP, r"(?i:\bzip(?: code)?|postal code)\s*:?\s*(?P<v>\d{5}(?:-\d{4})?)\b", "v"),
))

# Other countries' writing (found by a held-out corpus, tests/deid_heldout): international and national phone
# numbers, European and Japanese addresses, postcodes with the town before them, e-mails with "[at]" and "[dot]".
_CAPT = rf"[{_U}][{_L}]+(?:[ \-][{_U}][{_L}]+)?"  # a town of one or two words
_EU_STREET = ("straße|strasse|str\\.|weg|gasse|allee|platz|ring|damm|laan|straat|gracht|plein|kade|singel|vej|gade|"
              "gatan|vägen|veien")
_ROMANCE_STREET = ("rue|avenue|av\\.|boulevard|bd|chemin|allée|impasse|place|quai|calle|avenida|avda\\.|paseo|plaza|"
                   "carrer|rua|via|viale|piazza|corso")
_TOWN_AFTER = rf"(?:,[ \t]*(?:\d{{1,2}}º[ \t]*[A-Z]?,[ \t]*)?\d{{4,5}}(?:[ \t]?[A-Z]{{2}})?[ \t]+{_CAPT})?"
_PHONE_GATE = r"(?:\+|\b0|\(0)\d"
_POSTCODE = r"[A-Z]{1,2}\d[A-Z\d]?[ \t]\d[ABD-HJLNP-UW-Z]{2}\b"
_ROMANCE_GATE = rf"\b(?i:{_ROMANCE_STREET})\b"
_gate = cache(re.compile)  # rules that share a gate share its pattern object (and its one scan)
# (gate, type, rule): a rule runs only on a text its gate finds (a cheap scan: most text is not from abroad).
_ABROAD: tuple[tuple[re.Pattern[str], PhiType, re.Pattern[str]], ...] = tuple(
    (_gate(gate), t, re.compile(p)) for gate, t, p in (
    (_PHONE_GATE, PhiType.PHONE, r"(?P<v>(?<![\w+])(?=(?:\+|00)(?:[ \t.\-()]*\d){8})(?:\+|00)[1-9]\d{0,2}(?:[ \t.\-]?\(0\))?(?:[ \t.\-]?\d{1,5}){2,5}"
                                 r"(?<=\d))(?![\w\-]|\.\d)"),
    (_PHONE_GATE, PhiType.PHONE, r"(?P<v>(?<![\w)])\(0\d{1,4}\)[ \t]?\d{3,4}[ \t\-]?\d{3,4})(?![\w\-]|\.\d)"),
    (_PHONE_GATE, PhiType.PHONE, r"(?P<v>(?<![\w.\-/+:])0\d{1,4}[ \t\-/]\d{6,8})(?![\w\-/]|\.\d)"),
    (_PHONE_GATE, PhiType.PHONE, r"(?P<v>(?<![\w.\-/+:])0\d{1,3}-\d{3,4}-\d{4})(?![\w\-/]|\.\d)"),
    (r"[\[(][ \t]*(?i:at)[ \t]*[\])]", PhiType.EMAIL,
     r"(?P<v>\b[\w.+\-]*\w[ \t]*[\[(][ \t]*(?i:at)[ \t]*[\])][ \t]*\w[\w\-]*"
     r"(?:[ \t]*[\[(][ \t]*(?i:dot)[ \t]*[\])][ \t]*[\w\-]+|\.[\w\-]+)+)"),
    (rf"(?:{_EU_STREET})[ \t]+\d", PhiType.ADDRESS,
     rf"(?P<v>\b{_CAPW}(?:{_EU_STREET})[ \t]+\d{{1,4}}[a-z]?\b{_TOWN_AFTER})"),
    (_ROMANCE_GATE, PhiType.ADDRESS, rf"(?P<v>\b\d{{1,4}}(?:[ \t]?(?:bis|ter))?,?[ \t]+(?i:{_ROMANCE_STREET})[ \t]+"
                     rf"(?:(?:de la|de|des|du|del|della|di|do|dos|da)[ \t]+)?{_CAPW}(?:[ \t]+{_CAPW})?{_TOWN_AFTER})"),
    (_ROMANCE_GATE, PhiType.ADDRESS, rf"(?P<v>\b(?i:{_ROMANCE_STREET})[ \t]+(?:(?:de la|de|des|du|del|della|di|do|dos|da)"
                     rf"[ \t]+)?{_CAPW}(?:[ \t]+{_CAPW})?,?[ \t]+\d{{1,4}}\b{_TOWN_AFTER})"),
    ("〒", PhiType.ADDRESS, r"(?P<v>〒[ \t]?\d{3}-\d{4}(?:[ \t]*[\w\-]+?(?:-(?:shi|ku|cho|machi|gun|ken|to)|[都道府県市区町村]))*"
                          r"(?:[ \t]*\d{1,4}(?:-\d{1,4}){0,2}(?![\w\-]))?)"),
    (_POSTCODE, PhiType.ADDRESS, rf"(?P<v>(?:{_CAPT},[ \t]*)?\b{_POSTCODE})"),  # British, the town before it
))

# Ids of other shapes: parts of letters and digits joined by - / : . ("US55-4418207", "Z-48213-Q", "CLIN:418820")
# or after "#" ("#00482213"), digit groups ("2017/884310"). Counted, not matched: five digits with a letter, six
# without. A run of capitals and digits alone ("R47T90312") is left to labels: a keyed pseudonym has that shape.
_TOKEN_ID = re.compile(r"(?<![\w.\-/:#])#?[A-Za-z0-9]+(?:[\-/:.][A-Za-z0-9]+)+(?![\w\-/]|[.:]\w)"
                       r"|(?<![\w.\-/:#])#[A-Za-z0-9]{6,}(?![\w\-/]|[.:]\w)")
_NOT_ID = re.compile(r"\d+(?:[.:]\d+)*|\d+(?:\.\d+)?(?:[xX]\d+(?:\.\d+)?)+|[\d.]{1,5}(?:/[\d.]{1,5})+")
_DOTTED = re.compile(r"\d+(?:\.\d+){2,}")  # "2010.03.448120" is an id; "1.5" or "10:42" is not
_SPACED = re.compile(r"(?i:\b(?:acc|accn|acn|accession|pid|ref))\.?[ \t]*[:#]?[ \t]*(?P<v>\d{3,6}(?:[ ]\d{3,6}){1,3})\b")


def _token_ids(text: str) -> Iterator[Span]:
    for m in _TOKEN_ID.finditer(text):
        token = m.group()
        digits = sum(c.isdigit() for c in token)
        letters = any(c.isalpha() for c in token)
        if digits >= (5 if letters else 6) and (not _NOT_ID.fullmatch(token) or _DOTTED.fullmatch(token)) \
                and _id_parts(token):
            yield Span(m.start(), m.end(), PhiType.ID, "pattern")
    for m in _SPACED.finditer(text):
        yield Span(m.start("v"), m.end("v"), PhiType.ACCESSION, "label")


def _id_parts(token: str) -> bool:
    """Every part holds a digit, but a leading word ("CLIN:") or a short capital suffix ("-Q"): not "X9F2.dcm"."""
    parts = re.split(r"[\-/:.]", token.lstrip("#"))
    return all(any(c.isdigit() for c in p) or (i == 0 and p.isalpha()) or (i == len(parts) - 1 and p.isupper()
               and len(p) <= 3) for i, p in enumerate(parts))


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
    yield from _token_ids(text)
    opened: dict[re.Pattern[str], bool] = {}  # each gate scans the text once
    for gate, phi_type, rule in _ABROAD:
        if opened.setdefault(gate, gate.search(text) is not None):
            yield from (Span(m.start("v"), m.end("v"), phi_type, "pattern") for m in rule.finditer(text))
    for dump in _DUMPS:
        for m in dump.finditer(text):
            yield Span(m.start("v"), m.end("v"), DICOM_KEYWORDS[m["kw"]], "dicom")
