"""Held-out synthetic radiology-report corpus for PHI de-identification tests.

Provenance
----------
* Every report, name, identifier and date in this module is SYNTHETIC.  Names
  and places come from ``faker`` (seeded) and from small hand-written word
  lists; identifiers (MRN, SSN, accession, UID, serial, ...) are random digits
  and letters.  No real patient data was used or consulted.
* This generator was written INDEPENDENTLY of the detector it is used to
  evaluate: its author did not read the detector's source, its tests or its
  benchmarks.  Formats were chosen from general knowledge of clinical
  documents (HIPAA Safe Harbor identifiers, DICOM conventions, common RIS/PACS
  report layouts), not from what the detector is known to handle.
* Output is fully deterministic for a given ``(seed, n)``: all randomness comes
  from one ``random.Random(seed)`` (Faker is seeded from it).  Use a FRESH seed
  that the detector's authors never saw to obtain a genuinely held-out corpus.

Span conventions (see README.md next to this file)
--------------------------------------------------
* NAME spans cover the name only; titles (Dr., Mr., Ms.) and credentials
  (MD, DO, PA-C, RN, NP) are outside the span.  DICOM ``SURNAME^GIVEN^MIDDLE``
  is one span.
* AGE_OVER_89 spans cover the number only ("91" in "91-year-old", "ninety-six"
  in "ninety-six year old", "097" in "097Y").
* DATE spans include a weekday and/or a time of day when written attached to
  the date ("Wednesday, July 4, 2012", "07/04/2012 14:32").  For "on the 4th"
  the span is "4th".
* Phone spans include a written extension ("x1234", "ext. 1234").
* ADDRESS is the street / PO box / unit part; CITY_STATE_ZIP is
  "City, ST 12345" (or "City ST 12345-1234").
* Labels ("MRN:", "Acc#", "S/N") are outside the span.
* ``clinical_terms`` lists strings (as they appear, after any case transform)
  that must survive de-identification unchanged: eponyms, anatomy levels,
  measurements, doses, scanner models, BI-RADS categories, bare credentials.
"""
from __future__ import annotations

import argparse
import dataclasses
import datetime as _dt
import json
import random
import re
from dataclasses import dataclass

from faker import Faker

__all__ = ["Span", "Case", "KINDS", "generate", "protected_occurrences", "main"]

KINDS = (
    "NAME", "DATE", "AGE_OVER_89", "PHONE", "FAX", "EMAIL", "ADDRESS",
    "CITY_STATE_ZIP", "MRN", "ACCESSION", "SSN", "UID", "URL", "IP",
    "DEVICE_SERIAL", "INSTITUTION", "ACCOUNT", "LICENSE",
)


@dataclass(frozen=True)
class Span:
    start: int
    end: int
    kind: str
    text: str


@dataclass(frozen=True)
class Case:
    text: str
    spans: tuple[Span, ...]
    patient_key: str
    clinical_terms: tuple[str, ...]
    template: str = ""


# ---------------------------------------------------------------------------
# inline markup: PHI -> \x01KIND\x02value\x03 ; protected term -> \x04term\x05
# ---------------------------------------------------------------------------
def P(kind: str, value: str) -> str:
    assert kind in KINDS, kind
    assert value and not re.search(r"[\x01-\x05]", value)
    return f"\x01{kind}\x02{value}\x03"


def C(term: str) -> str:
    return f"\x04{term}\x05"


_MARK = re.compile(r"\x01([A-Za-z_0-9]+)\x02(.*?)\x03|\x04(.*?)\x05", re.S)


def _typo(rng: random.Random, s: str, rate: float) -> str:
    def fix(m: re.Match) -> str:
        w = m.group(0)
        if len(w) < 4 or rng.random() > rate:
            return w
        op = rng.randrange(3)
        i = rng.randrange(1, len(w) - 1)
        if op == 0:  # swap
            return w[:i] + w[i + 1] + w[i] + w[i + 2:]
        if op == 1:  # drop
            return w[:i] + w[i + 1:]
        return w[:i] + w[i] + w[i:]  # double
    return re.sub(r"[A-Za-z]+", fix, s)


def _render(rng: random.Random, marked: str, mode: str, key: str, tname: str) -> Case:
    segs: list[tuple[str, str]] = []  # (kind|''|'TERM', text)
    pos = 0
    for m in _MARK.finditer(marked):
        if m.start() > pos:
            segs.append(("", marked[pos:m.start()]))
        if m.group(1):
            segs.append((m.group(1).upper(), m.group(2)))
        else:
            segs.append(("TERM", m.group(3)))
        pos = m.end()
    if pos < len(marked):
        segs.append(("", marked[pos:]))
    out: list[str] = []
    spans: list[Span] = []
    terms: list[str] = []
    off = 0
    for kind, txt in segs:
        if mode == "upper":
            txt = txt.upper()
        elif mode == "lower":
            txt = txt.lower()
        if mode == "typo" and kind == "":
            txt = _typo(rng, txt, 0.06)
        if kind and kind != "TERM":
            spans.append(Span(off, off + len(txt), kind, txt))
        elif kind == "TERM" and txt not in terms:
            terms.append(txt)
        out.append(txt)
        off += len(txt)
    text = "".join(out)
    assert not re.search(r"[\x01-\x05]", text)
    return Case(text, tuple(spans), key, tuple(terms), tname)


# ---------------------------------------------------------------------------
# vocabularies
# ---------------------------------------------------------------------------
WORD_GIVEN = ["Rose", "Hope", "Bill", "Frank", "Joy", "Grace", "Will", "Mark",
              "May", "June", "Wade", "Faith", "Art", "Sunny", "Dawn", "Rich"]
WORD_SURNAME = ["Long", "Young", "White", "Brown", "Green", "Hill", "Wade",
                "May", "Frank", "Rose", "Bill", "Black", "Stone", "Little",
                "Hope", "Strong", "Small", "Best"]
EPONYM_SURNAME = ["Baker", "Graves", "Barrett", "Parkinson", "Paget", "Morton",
                  "Crohn", "Down", "Hodgkin", "Colles", "Wilms", "Hill"]
CREDS = ["MD", "DO", "PA-C", "RN", "NP", "MD, PhD", "M.D."]
SCANNERS = {
    "CT": ["Siemens SOMATOM Force", "GE Revolution CT", "Canon Aquilion ONE",
           "Philips IQon Spectral CT", "GE LightSpeed VCT 64"],
    "MR": ["GE Discovery MR750", "Siemens MAGNETOM Vida 3T",
           "Philips Ingenia 1.5T", "GE SIGNA Premier", "Siemens MAGNETOM Aera"],
    "XR": ["Carestream DRX-Evolution", "GE Definium 8000", "Fujifilm FDR D-EVO II"],
    "US": ["GE LOGIQ E10", "Philips EPIQ 7", "Siemens ACUSON Sequoia"],
    "MG": ["Hologic Selenia Dimensions", "GE Senographe Pristina"],
}
INST_HEAD = ["St. Mary's", "Mercy", "Riverside", "Good Samaritan", "Lakeview",
             "Saint Luke's", "Providence", "Northside", "Valley", "Sacred Heart",
             "Baptist", "Memorial", "Hope", "Grace", "Mount Sinai West",
             "Pinecrest", "Bayfront", "Summit"]
INST_TAIL = ["Medical Center", "Hospital", "Regional Medical Center",
             "Imaging Center", "Radiology Associates", "Clinic",
             "Community Hospital", "Diagnostic Imaging", "Health System",
             "Orthopedic Clinic", "Women's Imaging Center", "Children's Hospital"]
MONTHS = ["January", "February", "March", "April", "May", "June", "July",
          "August", "September", "October", "November", "December"]
WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday",
            "Saturday", "Sunday"]
ONES = ["", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
TEENS = ["ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen",
         "sixteen", "seventeen", "eighteen", "nineteen"]


def _age_words(a: int) -> str:
    def two(n: int) -> str:
        if n < 10:
            return ONES[n]
        if n < 20:
            return TEENS[n - 10]
        tens = ["", "", "twenty", "thirty", "forty", "fifty", "sixty",
                "seventy", "eighty", "ninety"][n // 10]
        return tens + ("-" + ONES[n % 10] if n % 10 else "")
    if a >= 100:
        rest = a - 100
        return "one hundred" + (" and " + two(rest) if rest else "")
    return two(a)


# ---------------------------------------------------------------------------
# people / identities
# ---------------------------------------------------------------------------
@dataclass
class Person:
    given: str
    middle: str
    surname: str

    def fmt(self, rng: random.Random, style: str | None = None) -> str:
        g, m, s = self.given, self.middle, self.surname
        styles = ["full", "full", "mid", "last_first", "last_first_mi", "upper",
                  "lower", "dicom", "initials", "last", "first", "caps_lf",
                  "first_initial_last"]
        st = style or rng.choice(styles)
        return {
            "full": f"{g} {s}",
            "mid": f"{g} {m[0]}. {s}",
            "last_first": f"{s}, {g}",
            "last_first_mi": f"{s}, {g} {m[0]}.",
            "upper": f"{g} {s}".upper(),
            "lower": f"{g} {s}".lower(),
            "dicom": f"{s}^{g}^{m}".upper(),
            "dicom_short": f"{s}^{g}".upper(),
            "initials": rng.choice([f"{g[0]}.{s[0]}.", f"{g[0]}{m[0]}{s[0]}",
                                    f"{g[0]}.{m[0]}.{s[0]}."]),
            "last": s,
            "first": g,
            "caps_lf": f"{s},{g} {m[0]}".upper(),
            "first_initial_last": f"{g[0]}. {s}",
        }[st]


def _person(rng: random.Random, fk: Faker, sex: str | None = None) -> Person:
    sex = sex or rng.choice("MF")
    r = rng.random()
    if r < 0.25:
        given = rng.choice(WORD_GIVEN)
    else:
        given = fk.first_name_male() if sex == "M" else fk.first_name_female()
    r = rng.random()
    if r < 0.25:
        surname = rng.choice(WORD_SURNAME)
    elif r < 0.37:
        surname = rng.choice(EPONYM_SURNAME)
    else:
        surname = fk.last_name()
    middle = fk.first_name() if rng.random() < 0.8 else rng.choice(WORD_GIVEN)
    return Person(_ascii(given), _ascii(middle), _ascii(surname))


def _ascii(s: str) -> str:
    return s.encode("ascii", "ignore").decode() or "Lee"


def _digits(rng: random.Random, n: int) -> str:
    return "".join(rng.choice("0123456789") for _ in range(n))


def _letters(rng: random.Random, n: int) -> str:
    return "".join(rng.choice("ABCDEFGHJKLMNPRSTUVWXYZ") for _ in range(n))


def _mrn(rng: random.Random) -> str:
    return rng.choice([
        lambda: _letters(rng, 2) + _digits(rng, 6),
        lambda: f"{_digits(rng, 2)}-{_digits(rng, 3)}-{_digits(rng, 2)}",
        lambda: "00" + _digits(rng, 5),
        lambda: "E" + _digits(rng, 7),
        lambda: f"MR{_digits(rng, 8)}",
        lambda: _digits(rng, 9),
        lambda: f"{_digits(rng, 3)}-{_digits(rng, 4)}",
    ])()


def _phone(rng: random.Random, ext_ok: bool = True) -> str:
    a = f"{rng.randint(201, 989)}"
    b = f"{rng.randint(200, 999)}"
    c = _digits(rng, 4)
    s = rng.choice([f"+1 ({a}) {b}-{c}", f"({a}) {b}-{c}", f"{a}-{b}-{c}",
                    f"{a}.{b}.{c}", f"{a} {b} {c}", f"{a}{b}{c}",
                    f"+1-{a}-{b}-{c}", f"1-{a}-{b}-{c}", f"({a}){b}-{c}"])
    if ext_ok and rng.random() < 0.25:
        s += rng.choice([f" x{_digits(rng, 4)}", f" ext. {_digits(rng, 3)}",
                         f" ext {_digits(rng, 4)}", f"x{_digits(rng, 3)}"])
    return s


def _uid(rng: random.Random) -> str:
    root = rng.choice(["1.2.840.113619.2.55.3", "1.3.12.2.1107.5.2.30",
                       "1.3.46.670589.11", "1.2.392.200036.9116.2",
                       "1.2.826.0.1.3680043.8.498"])
    if rng.random() < 0.15:
        return "2.25." + str(rng.getrandbits(120))
    return ".".join([root, str(rng.randint(10 ** 8, 10 ** 10)),
                     str(rng.randint(1, 999)), str(rng.randint(10 ** 9, 2 * 10 ** 9)),
                     str(rng.randint(1, 999))])


def _serial(rng: random.Random) -> str:
    return rng.choice([
        lambda: _digits(rng, 5) + "MR" + _digits(rng, 1),
        lambda: "SN-" + _letters(rng, 1) + _digits(rng, 1) + _letters(rng, 2) + _digits(rng, 4),
        lambda: _digits(rng, 10),
        lambda: _letters(rng, 3) + _digits(rng, 6) + _letters(rng, 1),
        lambda: f"{_letters(rng, 2)}{_digits(rng, 4)}-{_digits(rng, 3)}",
    ])()


def _accession(rng: random.Random, d: _dt.date) -> str:
    return rng.choice([
        lambda: d.strftime("%Y%m%d") + _digits(rng, 5),
        lambda: "A" + _digits(rng, 8),
        lambda: f"RAD-{d.strftime('%y')}-{_digits(rng, 6)}",
        lambda: f"CT{d.year}{_digits(rng, 6)}",
        lambda: _letters(rng, 3) + _digits(rng, 7),
        lambda: _digits(rng, 8),
    ])()


def _institution(rng: random.Random, fk: Faker) -> str:
    if rng.random() < 0.25:
        return f"{_ascii(fk.city())} {rng.choice(INST_TAIL)}"
    return f"{rng.choice(INST_HEAD)} {rng.choice(INST_TAIL)}"


@dataclass
class Patient:
    key: str
    person: Person
    sex: str
    dob: _dt.date
    mrn: str
    ssn: str
    street: str
    unit: str
    city: str
    state: str
    zip: str
    phone: str
    email: str
    account: str
    dl: str
    home_inst: str
    relative: Person
    rel_word: str
    pcp: Person
    url_host: str


def _patient(rng: random.Random, fk: Faker, key: str, first_exam: _dt.date) -> Patient:
    sex = rng.choice("MF")
    per = _person(rng, fk, sex)
    if rng.random() < 0.35:
        age = rng.randint(90, 104)
    else:
        age = rng.randint(3, 88)
    dob = _dt.date(first_exam.year - age - 1, rng.randint(1, 12), rng.randint(1, 28))
    street = rng.choice([
        lambda: f"{fk.building_number()} {_ascii(fk.street_name())}",
        lambda: f"{rng.randint(1, 9999)} {rng.choice(WORD_SURNAME + ['Oak', 'Elm', 'Maple'])} "
                f"{rng.choice(['St', 'Street', 'Rd', 'Road', 'Ave', 'Avenue', 'Blvd', 'Lane', 'Dr'])}",
        lambda: f"PO Box {rng.randint(10, 99999)}",
        lambda: f"P.O. Box {rng.randint(10, 9999)}",
        lambda: f"{rng.randint(1, 999)} {rng.choice(['N', 'S', 'E', 'W'])}. "
                f"{rng.choice(['Main', 'Hill', 'Parker', 'Lincoln', 'Washington'])} St",
    ])()
    unit = "" if "Box" in street or rng.random() < 0.45 else rng.choice(
        [f"Apt {rng.randint(1, 40)}{rng.choice('ABCD')}", f"Apt. {rng.randint(100, 999)}",
         f"Suite {rng.randint(100, 900)}", f"Unit {rng.randint(1, 30)}", f"#{rng.randint(2, 999)}"])
    zp = fk.zipcode() if rng.random() < 0.8 else f"{fk.zipcode()}-{_digits(rng, 4)}"
    g, s = per.given.lower(), per.surname.lower()
    email = rng.choice([f"{g}.{s}", f"{g[0]}{s}{rng.randint(1, 99)}", f"{s}{g[0]}",
                        f"{g}_{s}{rng.randint(1950, 2010)}"]) + "@" + rng.choice(
        ["gmail.com", "yahoo.com", "outlook.com", "aol.com", "comcast.net",
         "icloud.com", "example.org"])
    host = rng.choice(["mychart", "portal", "patient", "pacs", "images"]) + "." + \
        rng.choice(["stmarys", "mercyhealth", "riverside-imaging", "valleymed",
                    "northsiderad", "lakeviewhealth"]) + rng.choice([".org", ".com", ".net"])
    return Patient(
        key=key, person=per, sex=sex, dob=dob, mrn=_mrn(rng),
        ssn=f"{rng.randint(100, 899)}-{_digits(rng, 2)}-{_digits(rng, 4)}",
        street=_ascii(street), unit=unit, city=_ascii(fk.city()), state=fk.state_abbr(),
        zip=zp, phone=_phone(rng), email=email,
        account=rng.choice(["V" + _digits(rng, 9), _digits(rng, 10), "FIN" + _digits(rng, 8),
                            f"{_digits(rng, 4)}-{_digits(rng, 6)}"]),
        dl=rng.choice([f"{_letters(rng, 1)}{_digits(rng, 3)}-{_digits(rng, 4)}-{_digits(rng, 4)}",
                       _letters(rng, 1) + _digits(rng, 7), _digits(rng, 9)]),
        home_inst=_institution(rng, fk), relative=_person(rng, fk),
        rel_word=rng.choice(["daughter", "son", "wife", "husband", "niece", "caregiver", "grandson"]),
        pcp=_person(rng, fk), url_host=host,
    )


# ---------------------------------------------------------------------------
# formatting helpers returning marked strings
# ---------------------------------------------------------------------------
def _date_str(rng: random.Random, d: _dt.date, style: str | None = None,
              t: tuple[int, int] | None = None) -> tuple[str, str, str]:
    """Return (prefix, span_text, suffix) for a date written in a random style."""
    st = style or rng.choice([
        "iso", "us", "us_short", "us_nopad", "long", "dmy_long", "month_of",
        "mon_yyyy", "compact", "ordinal", "weekday", "datetime", "isot",
        "dd_mon_yyyy", "mon_d_yyyy", "dot", "md", "my_short", "long_abbr",
        "weekday_short"])
    mon = MONTHS[d.month - 1]
    hh, mm = t or (rng.randint(0, 23), rng.randint(0, 59))
    s = {
        "iso": d.isoformat(),
        "us": d.strftime("%m/%d/%Y"),
        "us_short": f"{d.month}/{d.day}/{d.strftime('%y')}",
        "us_nopad": f"{d.month}/{d.day}/{d.year}",
        "long": f"{mon} {d.day}, {d.year}",
        "long_abbr": f"{mon[:3]}. {d.day}, {d.year}",
        "dmy_long": f"{d.day} {mon} {d.year}",
        "month_of": f"{mon} of {d.year}",
        "mon_yyyy": f"{mon[:3]}-{d.year}",
        "compact": d.strftime("%Y%m%d"),
        "ordinal": f"{d.day}{'th' if 11 <= d.day <= 13 else {1: 'st', 2: 'nd', 3: 'rd'}.get(d.day % 10, 'th')}",
        "weekday": f"{WEEKDAYS[d.weekday()]}, {mon} {d.day}, {d.year}",
        "weekday_short": f"{WEEKDAYS[d.weekday()][:3]} {d.month}/{d.day}/{d.year}",
        "datetime": f"{d.strftime('%m/%d/%Y')} {hh:02d}:{mm:02d}",
        "isot": f"{d.isoformat()}T{hh:02d}:{mm:02d}:{rng.randint(0, 59):02d}",
        "dd_mon_yyyy": f"{d.day:02d}-{mon[:3].upper()}-{d.year}",
        "mon_d_yyyy": f"{mon[:3]} {d.day} {d.year}",
        "dot": d.strftime("%m.%d.%Y"),
        "md": f"{d.month}/{d.day}",
        "my_short": f"{d.month}/{d.strftime('%y')}",
    }[st]
    if st == "ordinal":
        return ("on the ", s, "")
    return ("", s, "")


def D(rng: random.Random, d: _dt.date, style: str | None = None, allow_ordinal: bool = False) -> str:
    if style is None and not allow_ordinal:
        while True:
            pre, s, suf = _date_str(rng, d)
            if pre == "":
                break
    else:
        pre, s, suf = _date_str(rng, d, style)
    return pre + P("DATE", s) + suf


DOB_STYLES = ["iso", "us", "us_short", "us_nopad", "long", "dmy_long", "compact",
              "dd_mon_yyyy", "mon_d_yyyy", "dot", "long_abbr", "mon_yyyy"]


def DOB(rng: random.Random, d: _dt.date, style: str | None = None) -> str:
    return P("DATE", _date_str(rng, d, style or rng.choice(DOB_STYLES))[1])


def _age(p: Patient, d: _dt.date) -> int:
    return d.year - p.dob.year - ((d.month, d.day) < (p.dob.month, p.dob.day))


def p_sex_m(word: str) -> bool:
    return word.lower() in ("man", "male", "m")


def AGE(rng: random.Random, age: int, sexword: str) -> str:
    if age <= 89:
        return rng.choice([f"{age}-year-old {sexword}", f"{age} y/o {sexword}",
                           f"{age}yo {sexword}", f"{sexword}, age {age},"])
    forms = [
        lambda: P("AGE_OVER_89", str(age)) + f"-year-old {sexword}",
        lambda: P("AGE_OVER_89", str(age)) + f" y/o {sexword}",
        lambda: P("AGE_OVER_89", str(age)) + f"yo {sexword}",
        lambda: P("AGE_OVER_89", str(age)) + f" year old {sexword}",
        lambda: P("AGE_OVER_89", _age_words(age)) + f" year old {sexword}",
        lambda: P("AGE_OVER_89", _age_words(age)) + f"-year-old {sexword}",
        lambda: f"{sexword}, age " + P("AGE_OVER_89", str(age)) + ",",
        lambda: f"{sexword} aged " + P("AGE_OVER_89", str(age)) + ",",
        lambda: P("AGE_OVER_89", str(age)) + f" years old {sexword}",
        lambda: "age: " + P("AGE_OVER_89", str(age)) + ("M" if p_sex_m(sexword) else "F"),
    ]
    return rng.choice(forms)()


def NAME(rng: random.Random, per: Person, style: str | None = None) -> str:
    return P("NAME", per.fmt(rng, style))


def DOC(rng: random.Random, per: Person) -> str:
    """Provider name with title and/or credential outside the span."""
    f = rng.randrange(6)
    if f == 0:
        return "Dr. " + NAME(rng, per, rng.choice(["full", "last", "mid", "first_initial_last"]))
    if f == 1:
        return NAME(rng, per, rng.choice(["full", "mid", "first_initial_last"])) + ", " + rng.choice(CREDS)
    if f == 2:
        return NAME(rng, per, rng.choice(["full", "mid"])) + " " + rng.choice(["MD", "DO", "NP", "RN"])
    if f == 3:
        return "Dr " + NAME(rng, per, "last")
    if f == 4:
        return NAME(rng, per, "last_first_mi") + " " + rng.choice(["MD", "M.D.", "DO"])
    return NAME(rng, per, rng.choice(["upper", "full"])) + ", " + rng.choice(CREDS)


def ADDR(rng: random.Random, p: Patient, one_line: bool | None = None) -> str:
    if not p.unit:
        street = P("ADDRESS", p.street)
    elif rng.random() < 0.5:
        street = P("ADDRESS", f"{p.street}, {p.unit}")
    else:  # unit written as its own span
        street = P("ADDRESS", p.street) + " " + P("ADDRESS", p.unit)
    csz = P("CITY_STATE_ZIP", rng.choice([f"{p.city}, {p.state} {p.zip}",
                                          f"{p.city} {p.state} {p.zip}",
                                          f"{p.city}, {p.state}  {p.zip}"]))
    if one_line is None:
        one_line = rng.random() < 0.5
    return street + (", " if one_line else "\n") + csz


# clinical snippets: (text with C() markers) keyed by body area
def _eponym_findings(rng: random.Random, mod: str) -> list[str]:
    pool = {
        "CT": [
            f"History of {C('Hodgkin lymphoma')}, status post chemotherapy. No residual mediastinal adenopathy.",
            f"Wall thickening of the terminal ileum measuring {C('6 mm')}, compatible with known {C('Crohn disease')}.",
            f"Compression of the left common iliac vein by the right common iliac artery, consistent with {C('May-Thurner')} anatomy.",
            f"Expansile sclerotic change of the right hemipelvis with cortical thickening, typical of {C('Paget disease')}.",
            f"Large heterogeneous left renal mass, known {C('Wilms tumor')}, measuring {C('8.4 x 7.1 x 6.9 cm')}.",
            f"Distal esophageal wall thickening in this patient with {C('Barrett esophagus')}.",
            f"Hypodense lesion in segment 7 measuring {C('1.2 cm')}, {C('HU 12')}, likely a cyst.",
            f"Nodule in the right lower lobe (series 4 image 87) measuring {C('3.2 x 4.1 cm')}, previously {C('2.8 x 3.6 cm')}.",
        ],
        "MR": [
            f"Scattered {C('T2/FLAIR')} hyperintensities in the periventricular white matter; history of {C('Alzheimer')} dementia.",
            f"Disc osteophyte complex at {C('C5-C6')} with mild canal narrowing. {C('L4-L5')} broad-based disc bulge.",
            f"Loss of {C('T2')} signal within the {C('L4-L5')} and {C('L5-S1')} discs.",
            f"Symmetric nigral signal loss, which can be seen with {C('Parkinson disease')}.",
            f"Anteroinferior labral tear compatible with a {C('Bankart lesion')}, with a {C('Hill-Sachs')} deformity of the humeral head.",
            f"Fusiform thickening of the third intermetatarsal space nerve, consistent with {C('Morton neuroma')}.",
            f"Fluid collection in the medial popliteal fossa consistent with a {C('Baker cyst')} measuring {C('4.5 cm')}.",
            f"Cerebellar tonsils extend {C('7 mm')} below the foramen magnum ({C('Chiari I malformation')}).",
        ],
        "XR": [
            f"Dorsally angulated distal radius fracture, a {C('Colles fracture')}.",
            f"{C('Salter-Harris')} type II fracture of the distal tibia.",
            f"Proximal ulnar fracture with radial head dislocation ({C('Monteggia')} pattern).",
            f"Fragmentation of the tibial tubercle consistent with {C('Osgood-Schlatter')} disease.",
            f"Impaction of the posterolateral humeral head ({C('Hill-Sachs')} lesion).",
            f"Atlantoaxial interval measures {C('4 mm')} in this patient with {C('Down syndrome')}.",
            f"Coarsened trabeculae of the pelvis, likely {C('Paget disease')}.",
            f"Mild degenerative narrowing at {C('C5-C6')} and {C('C6-C7')}.",
        ],
        "US": [
            f"Diffusely enlarged hypervascular thyroid, consistent with {C('Graves disease')}.",
            f"Complex {C('Baker cyst')} measuring {C('3.1 x 1.2 x 2.0 cm')}.",
            f"Left iliac vein compression, concerning for {C('May-Thurner')} syndrome.",
            f"Right thyroid nodule {C('TI-RADS 4')} measuring {C('1.4 cm')}.",
            f"Normal common bile duct measuring {C('4 mm')}. Liver span {C('15.2 cm')}.",
        ],
        "MG": [
            f"Irregular mass at 10 o'clock, {C('4 cm')} from the nipple, measuring {C('1.1 x 0.9 cm')}.",
            f"Grouped amorphous calcifications in the upper outer quadrant spanning {C('8 mm')}.",
            f"Heterogeneously dense breast tissue (ACR density C). History of {C('Hodgkin lymphoma')} with mantle radiation.",
        ],
    }[mod]
    return rng.sample(pool, k=min(len(pool), rng.randint(2, 4)))


NEGATIVE_FILLER = [
    f"Findings {C('may represent')} atelectasis.",
    f"{C('Will follow')} clinically.",
    f"{C('No marked change')} from prior.",
    f"Periventricular {C('white matter')} changes are nonspecific.",
    f"{C('Brown fat')} uptake is physiologic.",
    f"{C('Greenstick fracture')} of the distal radius is not excluded.",
    f"{C('Long segment')} narrowing of the superficial femoral artery.",
    f"Typical appearance for a {C('young adult')}.",
    f"{C('Hope this is helpful')}; call with questions.",
    f"Clinical {C('grace period')} for follow-up imaging is 6 weeks.",
    f"Skin {C('marker')} placed at the site of the palpable lump.",
    f"{C('Marked improvement')} of the effusion.",
    f"Level {C('T12')} through {C('L2')} vertebral bodies are normal in height.",
    f"{C('Young')}'s modulus elastography: {C('12 kPa')}.",
    f"{C('BP 120/80')}, {C('HR 72')}, {C('eGFR 45')}, pain {C('7/10')}.",
    f"Contrast: {C('Isovue 370')}, {C('75 mL')} at {C('4 mL/s')}.",
    f"{C('Billing')} code {C('CPT 74177')}.",
]


def _neg(rng: random.Random, k: int = 1) -> str:
    return " ".join(rng.sample(NEGATIVE_FILLER, k))


@dataclass
class Study:
    date: _dt.date
    hh: int
    mm: int
    acc: str
    inst: str
    rad: Person
    ref: Person
    priors: list
    scanner_serial: str
    uid: str
    series_uid: str


# ---------------------------------------------------------------------------
# templates: each returns (marked_text, mode)
# ---------------------------------------------------------------------------
def t_ct(rng, p, s, fk):
    sexword = "man" if p.sex == "M" else "woman"
    scanner = rng.choice(SCANNERS["CT"])
    dlp = rng.randint(120, 1400)
    prior = s.priors[0] if s.priors else None
    lines = [
        P("INSTITUTION", s.inst) + " - Department of Radiology",
        f"Patient: {NAME(rng, p.person, rng.choice(['last_first_mi', 'upper', 'full', 'caps_lf']))}    "
        f"MRN: {P('MRN', p.mrn)}    DOB: {DOB(rng, p.dob)}",
        f"Accession: {P('ACCESSION', s.acc)}    Exam date: {D(rng, s.date, rng.choice(['datetime', 'us', 'iso', 'weekday']))}",
        f"Referring: {DOC(rng, s.ref)}",
        "",
        "EXAM: CT CHEST ABDOMEN PELVIS WITH CONTRAST",
        f"CLINICAL HISTORY: {AGE(rng, _age(p, s.date), sexword)} with abdominal pain. BP {C('132/84')}.",
        f"TECHNIQUE: Axial images acquired on a {C(scanner)} after {C('100 mL')} Omnipaque 350. "
        f"{C(f'DLP {dlp} mGy*cm')}, {C(f'CTDIvol {rng.randint(5, 25)}.{rng.randint(0, 9)} mGy')}.",
        ("COMPARISON: " + (f"CT from {D(rng, prior)} at " + P("INSTITUTION", p.home_inst) if prior else "None.")),
        "",
        "FINDINGS:",
    ]
    fl = ["- " + f for f in _eponym_findings(rng, "CT")]
    if rng.random() < 0.5:
        fl.insert(rng.randrange(len(fl) + 1),
                  f"- Prior outside study (per {DOC(rng, p.pcp)}, {D(rng, s.date - _dt.timedelta(days=rng.randint(30, 900)))}) not available for review.")
    fl.append("- " + _neg(rng, 2))
    lines += fl
    lines += ["", "IMPRESSION:"]
    imp = [f"1. Findings as above; see {C('series 3 image 45')}."]
    if rng.random() < 0.7:
        imp.append(f"2. Results discussed with {DOC(rng, s.ref)} by telephone at "
                   f"{s.hh:02d}:{s.mm:02d} on {D(rng, s.date, rng.choice(['us_short', 'md', 'long']))}, "
                   f"who read back the findings.")
    if rng.random() < 0.4:
        imp.append(f"3. Recommend follow-up CT in 3 months (around {D(rng, s.date + _dt.timedelta(days=90), rng.choice(['month_of', 'mon_yyyy', 'my_short']))}).")
    lines += imp
    lines += ["", f"Electronically signed by: {DOC(rng, s.rad)} on "
                  f"{D(rng, s.date + _dt.timedelta(days=rng.randint(0, 1)), rng.choice(['datetime', 'isot', 'long']))}",
              f"Page 1 of 1 | {P('NAME', p.person.fmt(rng, 'caps_lf'))} | {P('MRN', p.mrn)}"]
    return "\n".join(lines), None


def t_mr(rng, p, s, fk):
    scanner = rng.choice(SCANNERS["MR"])
    region = rng.choice(["BRAIN WITHOUT AND WITH CONTRAST", "CERVICAL SPINE", "LUMBAR SPINE",
                         "RIGHT SHOULDER", "LEFT KNEE", "LEFT FOREFOOT"])
    head = rng.choice([
        f"MRI {region}\nName: {NAME(rng, p.person, 'last_first_mi')}\nMR#: {P('MRN', p.mrn)}\n"
        f"Date of Birth: {DOB(rng, p.dob)}\nDate of Service: {D(rng, s.date)}\n"
        f"Location: {P('INSTITUTION', s.inst)}",
        f"{P('INSTITUTION', s.inst)}\n{P('ADDRESS', f'{rng.randint(10, 9999)} Medical Plaza Dr, Suite {rng.randint(100, 500)}')}, "
        f"{P('CITY_STATE_ZIP', f'{p.city}, {p.state} {fk.zipcode()}')}  Tel {P('PHONE', _phone(rng))}  "
        f"Fax {P('FAX', _phone(rng, False))}\n\nMR {region} ({D(rng, s.date)})\n"
        f"PATIENT: {NAME(rng, p.person, 'upper')} (MRN#{P('MRN', p.mrn)})",
    ])
    body = [
        head, "",
        f"{C('Ordering physician')}: {DOC(rng, s.ref)}  NPI {P('LICENSE', _digits(rng, 10))}",
        f"Equipment: {C(scanner)}, serial no. {P('DEVICE_SERIAL', s.scanner_serial)}. "
        f"Sequences: sagittal {C('T1')}, axial {C('T2')}, {C('T2/FLAIR')}, DWI.",
    ]
    if rng.random() < 0.4:
        body.append(f"MRI safety: patient has a pacemaker ({C('Medtronic Azure XT DR MRI SureScan')}, "
                    f"serial {P('DEVICE_SERIAL', _letters(rng, 3) + _digits(rng, 6) + 'H')}); "
                    f"device rep {NAME(rng, _person(rng, fk), 'full')} present.")
    if rng.random() < 0.5:
        body.append(f"Study Instance UID: {P('UID', s.uid)}")
    body.append(f"Comparison: {rng.choice(['prior MRI', 'outside CT'])} dated "
                + (D(rng, s.priors[0]) if s.priors else D(rng, s.date - _dt.timedelta(days=400)))
                + (f" from {P('INSTITUTION', p.home_inst)}" if rng.random() < 0.5 else "") + ".")
    body += ["", "Findings:"] + _eponym_findings(rng, "MR") + [_neg(rng, 2)]
    body += ["", "Impression:",
             f"Degenerative changes most pronounced at {C('C5-C6')}. "
             + (f"Pt {NAME(rng, p.person, rng.choice(['last', 'full']))} was informed of the results by "
                f"{DOC(rng, s.rad)} on {D(rng, s.date, allow_ordinal=True, style=rng.choice(['ordinal', 'md', 'long']))}. "
                if rng.random() < 0.6 else "")
             + "No acute intracranial abnormality.",
             "", f"{NAME(rng, s.rad, rng.choice(['full', 'mid']))}, {rng.choice(['MD', 'DO'])}",
             f"Dictated: {D(rng, s.date, 'datetime')}  Transcribed: {D(rng, s.date + _dt.timedelta(days=1), 'datetime')} "
             f"by {NAME(rng, _person(rng, fk), 'initials')}"]
    return "\n".join(body), None


def t_xr(rng, p, s, fk):
    region = rng.choice(["RIGHT WRIST 3 VIEWS", "LEFT SHOULDER 2 VIEWS", "KNEE 4 VIEWS",
                         "CERVICAL SPINE", "PELVIS AP", "LEFT ELBOW"])
    age = _age(p, s.date)
    lines = [
        f"XR {region}",
        f"{NAME(rng, p.person, rng.choice(['full', 'last_first', 'upper']))} | "
        f"{p.sex} | {DOB(rng, p.dob, 'us')} | {P('MRN', p.mrn)} | {P('ACCESSION', s.acc)}",
        f"Indication: {AGE(rng, age, 'patient')} fall at home"
        + (f" (lives at {ADDR(rng, p, True)})" if rng.random() < 0.3 else "") + ".",
        f"Views obtained {D(rng, s.date, rng.choice(['weekday', 'weekday_short', 'us']))} on {C(rng.choice(SCANNERS['XR']))}.",
        "Findings: " + " ".join(_eponym_findings(rng, "XR")) + " " + _neg(rng, 1),
        f"Compared to {D(rng, s.priors[0]) if s.priors else 'no prior'}.",
        f"Impression: {rng.choice(['Acute fracture as above.', 'No acute fracture.'])} "
        + (f"Ortho ({DOC(rng, s.ref)}, pager {P('PHONE', _phone(rng))}) notified." if rng.random() < 0.5 else ""),
        f"-- {NAME(rng, s.rad, 'first_initial_last')} {rng.choice(['MD', 'DO'])} / {P('INSTITUTION', s.inst)}",
    ]
    return "\n".join(lines), None


def t_us(rng, p, s, fk):
    rel = p.relative
    lines = [
        rng.choice(["ULTRASOUND REPORT", "US THYROID", "VENOUS DUPLEX LOWER EXTREMITY", "US SOFT TISSUE KNEE"]),
        f"{P('INSTITUTION', s.inst)} Vascular Lab | {C(rng.choice(SCANNERS['US']))}",
        f"Patient name: {NAME(rng, p.person, rng.choice(['full', 'mid', 'last_first']))}",
        f"Patient ID: {P('MRN', p.mrn)}   Visit/Acct: {P('ACCOUNT', p.account)}",
        f"DOB: {DOB(rng, p.dob)} ({AGE(rng, _age(p, s.date), 'F' if p.sex == 'F' else 'M')})",
        f"Sonographer: {NAME(rng, _person(rng, fk), rng.choice(['full', 'initials']))}, RDMS",
        f"Exam: {D(rng, s.date, rng.choice(['dd_mon_yyyy', 'mon_d_yyyy', 'dot', 'long_abbr']))}",
        "",
        "FINDINGS:",
    ] + ["  * " + f for f in _eponym_findings(rng, "US")]
    lines += ["",
              f"History obtained from pt's {p.rel_word}, {NAME(rng, rel, rng.choice(['full', 'first']))}, "
              f"who can be reached at {P('PHONE', p.phone)}.",
              f"IMPRESSION: As above. {C('TI-RADS')} criteria applied. "
              f"Preliminary findings given to {NAME(rng, s.ref, 'full')} {rng.choice(['PA-C', 'NP'])}.",
              f"Final read: {DOC(rng, s.rad)}  {D(rng, s.date, 'datetime')}"]
    return "\n".join(lines), None


def t_mammo(rng, p, s, fk):
    birads = rng.choice([0, 1, 2, 3, 4, "4A", "4B", 5])
    lines = [
        P("INSTITUTION", s.inst.replace("Clinic", "Women's Imaging Center")),
        f"{P('ADDRESS', f'{rng.randint(10, 9999)} {rng.choice(WORD_SURNAME)} Street, Suite {rng.randint(100, 400)}')}",
        f"{P('CITY_STATE_ZIP', f'{p.city}, {p.state} {fk.zipcode()}')}",
        "",
        f"{D(rng, s.date, rng.choice(['long', 'dmy_long']))}",
        "",
        NAME(rng, p.person, rng.choice(["full", "mid"])),
        ADDR(rng, p, False),
        "",
        f"Dear {rng.choice(['Ms.', 'Mrs.']) if p.sex == 'F' else 'Mr.'} {NAME(rng, p.person, 'last')},",
        "",
        f"SCREENING DIGITAL BREAST TOMOSYNTHESIS (DBT), bilateral. Acc {P('ACCESSION', s.acc)}. "
        f"Unit: {C(rng.choice(SCANNERS['MG']))} S/N {P('DEVICE_SERIAL', s.scanner_serial)}.",
        f"Comparison: {', '.join(D(rng, d, rng.choice(['us', 'mon_yyyy', 'iso'])) for d in s.priors[:3]) or 'none'}.",
        "Findings: " + " ".join(_eponym_findings(rng, "MG")),
        f"ASSESSMENT: {C(f'BI-RADS {birads}')}."
        + (" Recommend diagnostic mammogram and ultrasound." if str(birads)[0] in "04" else " Routine annual screening."),
        "",
        f"Questions? Call the breast center at {P('PHONE', _phone(rng))} or email "
        f"{P('EMAIL', 'breastcenter@' + p.url_host.split('.', 1)[1])}.",
        f"Results are also available at {P('URL', 'https://' + p.url_host + '/results/' + p.mrn)}.",
        f"cc: {DOC(rng, p.pcp)}; patient portal ({P('EMAIL', p.email)})",
        f"Interpreting radiologist: {DOC(rng, s.rad)}   Medical license {P('LICENSE', rng.choice(['MD', 'A', 'G']) + _digits(rng, 6))}",
    ]
    return "\n".join(lines), None


def t_addendum(rng, p, s, fk):
    orig = s.date - _dt.timedelta(days=rng.randint(0, 3))
    lines = [
        "*** ADDENDUM ***",
        f"Addendum to report {P('ACCESSION', s.acc)} for {NAME(rng, p.person, rng.choice(['upper', 'last_first_mi', 'dicom_short']))} "
        f"(MRN {P('MRN', p.mrn)}), {AGE(rng, _age(p, s.date), 'man' if p.sex == 'M' else 'woman')} "
        f"originally dictated {D(rng, orig)}.",
        "",
        f"After review with {DOC(rng, _person(rng, fk))} at tumor board on "
        f"{D(rng, s.date, rng.choice(['weekday', 'long', 'us_nopad']))}, the lesion at {C('L4-L5')} "
        f"is felt to represent a {C('Schmorl node')}, not metastasis. "
        f"{rng.choice(['Mr.', 'Ms.', 'Pt'])} {NAME(rng, p.person, 'last')} has a history of {C('Paget disease')}.",
        f"Critical result communicated to {DOC(rng, s.ref)} ({P('PHONE', _phone(rng))}) at "
        f"{D(rng, s.date, 'datetime')}; read-back confirmed.",
        f"The patient's {p.rel_word} {NAME(rng, p.relative, rng.choice(['first', 'full', 'lower']))} was also updated.",
        "",
        f"Addendum signed: {DOC(rng, s.rad)}",
        f"{P('INSTITUTION', s.inst)} | Radiology fax {P('FAX', _phone(rng, False))}",
        "--- original report follows ---",
        "IMPRESSION: " + " ".join(_eponym_findings(rng, "CT")[:2]) + " " + _neg(rng, 1),
        f"Original signed by {DOC(rng, _person(rng, fk))} {D(rng, orig, 'isot')}",
    ]
    return "\n".join(lines), None


def t_telerad(rng, p, s, fk):
    ip1 = f"10.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
    ip2 = rng.choice([f"192.168.{rng.randint(0, 255)}.{rng.randint(1, 254)}",
                      f"172.{rng.randint(16, 31)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"])
    tz = rng.choice(["EST", "CST", "PST", "UTC"])
    lines = [
        "TELERADIOLOGY PRELIMINARY INTERPRETATION",
        f"Originating site: {P('INSTITUTION', s.inst)} (AE PACS01 @ {P('IP', ip1)}:104)",
        f"Reading site: {P('INSTITUTION', _institution(rng, fk))}, workstation {P('IP', ip2)}",
        f"Received: {D(rng, s.date, 'isot')} {tz}",
        "",
        "DICOM header:",
        f"  (0010,0010) PatientName      = {NAME(rng, p.person, 'dicom')}",
        f"  (0010,0020) PatientID        = {P('MRN', p.mrn)}",
        f"  (0010,0030) PatientBirthDate = {P('DATE', p.dob.strftime('%Y%m%d'))}",
        f"  (0010,1010) PatientAge       = "
        + (P('AGE_OVER_89', f"{_age(p, s.date):03d}") + "Y" if _age(p, s.date) > 89 else f"{_age(p, s.date):03d}Y"),
        f"  (0008,0050) AccessionNumber  = {P('ACCESSION', s.acc)}",
        f"  (0008,0020) StudyDate        = {P('DATE', s.date.strftime('%Y%m%d'))}",
        f"  (0008,0080) InstitutionName  = {P('INSTITUTION', s.inst)}",
        f"  (0008,0090) ReferringPhysicianName = {NAME(rng, s.ref, 'dicom_short')}",
        f"  (0008,1090) ManufacturerModelName  = {C(rng.choice(SCANNERS['CT']))}",
        f"  (0018,1000) DeviceSerialNumber     = {P('DEVICE_SERIAL', s.scanner_serial)}",
        f"  (0020,000D) StudyInstanceUID       = {P('UID', s.uid)}",
        f"  (0020,000E) SeriesInstanceUID      = {P('UID', s.series_uid)}",
        f"  (0018,0050) {C('SliceThickness = 1.25')}   (0018,0060) {C('KVP = 120')}",
        "",
        "Prelim read: " + " ".join(_eponym_findings(rng, "CT")[:2]),
        f"Viewer link: {P('URL', f'https://{p.url_host}/viewer?uid={s.uid}')}",
        f"Questions: {P('EMAIL', s.rad.surname.lower() + '@' + rng.choice(['nightrad.com', 'virtualrad.net', 'telerad-partners.org']))}"
        f" or {P('PHONE', _phone(rng))}",
        f"Prelim by {DOC(rng, s.rad)}; final read to follow by local attending.",
    ]
    return "\n".join(lines), None


def t_dictation(rng, p, s, fk):
    a = _age(p, s.date)
    sexword = "male" if p.sex == "M" else "female"
    txt = (
        f"this is {NAME(rng, s.rad, rng.choice(['lower', 'full', 'last']))} dictating a "
        f"{rng.choice(['ct head', 'chest xray', 'mri lumbar spine', 'ct abdomen'])} on "
        f"patient {NAME(rng, p.person, rng.choice(['full', 'lower', 'last_first']))}, medical record number "
        f"{P('MRN', p.mrn)}, date of birth {DOB(rng, p.dob, rng.choice(['long', 'us_nopad', 'dmy_long']))}. "
        f"the patient is a {AGE(rng, a, sexword)} seen in the er "
        f"{rng.choice(['yesterday', 'today'])} {D(rng, s.date, rng.choice(['md', 'us_short']))} for "
        f"{rng.choice(['fall', 'back pain', 'weakness', 'sob'])}. period. new paragraph. "
        f"comparison is made to study from {D(rng, s.priors[0], rng.choice(['month_of', 'mon_yyyy', 'long'])) if s.priors else 'outside hospital'} "
        f"at {P('INSTITUTION', p.home_inst)}. findings colon "
        + " ".join(f.lower() if rng.random() < 0.5 else f for f in _eponym_findings(rng, rng.choice(["CT", "MR", "XR"])))
        + f" new paragraph. impression colon no acute process. i discussed with "
        f"{NAME(rng, s.ref, rng.choice(['first', 'full', 'last']))} in the er. "
        + (f"patient lives at {ADDR(rng, p, True)}, phone {P('PHONE', p.phone)}, for the callback. " if rng.random() < 0.5 else "")
        + (f"ssn on file {P('SSN', p.ssn)}. " if rng.random() < 0.3 else "")
        + f"end of dictation."
    )
    return txt, "typo"


def t_legacy(rng, p, s, fk):
    a = _age(p, s.date)
    lines = [
        "=" * 60,
        f"RIS/HIS  {P('INSTITUTION', s.inst)}  RADIOLOGY",
        "=" * 60,
        f"PT NAME: {NAME(rng, p.person, 'caps_lf'):<30}  MRN: {P('MRN', p.mrn)}",
        f"SSN: {P('SSN', p.ssn if rng.random() < 0.6 else p.ssn.replace('-', ' '))}   ACCT#: {P('ACCOUNT', p.account)}   "
        f"DOB: {DOB(rng, p.dob, rng.choice(['us', 'compact', 'dd_mon_yyyy']))}   AGE: "
        + (P("AGE_OVER_89", str(a)) if a > 89 else str(a)) + f"   SEX: {p.sex}",
        f"ADDR: {ADDR(rng, p, True)}   PH: {P('PHONE', p.phone)}",
        f"DL#: {P('LICENSE', p.dl)}  INS ID: {P('ACCOUNT', _letters(rng, 3) + _digits(rng, 9))}",
        f"ORD PHYS: {NAME(rng, s.ref, 'caps_lf')} MD    ATT: {NAME(rng, p.pcp, 'last')}",
        f"EXAM: {rng.choice(['CT HEAD W/O', 'CXR PA/LAT', 'CT C-SPINE W/O'])}   ACC: {P('ACCESSION', s.acc)}   "
        f"DATE/TIME: {D(rng, s.date, 'datetime')}",
        "-" * 60,
        "REPORT:",
    ] + _eponym_findings(rng, rng.choice(["CT", "XR"])) + [
        f"{C('HU 45')} IN THE REGION OF INTEREST.",
        "IMPRESSION: SEE ABOVE. NO ACUTE CHANGE SINCE " + D(rng, s.priors[0] if s.priors else s.date - _dt.timedelta(days=30), rng.choice(['us_short', 'us'])) + ".",
        f"READ BY: {NAME(rng, s.rad, 'caps_lf')} {rng.choice(['MD', 'DO'])}   TRANSCR: {NAME(rng, _person(rng, fk), 'initials')}",
        f"PRINTED {D(rng, s.date + _dt.timedelta(days=2), 'datetime')} BY USER {P('NAME', (s.rad.given[0] + s.rad.surname).upper()[:8])} PAGE 1",
    ]
    return "\n".join(lines), "upper"


def t_chat(rng, p, s, fk):
    a = _age(p, s.date)
    msg = [
        f"hey {NAME(rng, s.ref, 'first')} - quick heads up on pt {NAME(rng, p.person, rng.choice(['lower', 'full', 'last']))} "
        f"(mrn {P('MRN', p.mrn)}), {AGE(rng, a, 'f' if p.sex == 'F' else 'm')} from {P('INSTITUTION', p.home_inst)}.",
        "ct from " + D(rng, s.date, rng.choice(["md", "us_short"])) + " shows " + _eponym_findings(rng, rng.choice(["CT", "MR"]))[0].lower(),
        "also " + _eponym_findings(rng, rng.choice(["XR", "US"]))[0].lower(),
        f"compared w/ {D(rng, s.priors[0], rng.choice(['md', 'my_short', 'mon_yyyy'])) if s.priors else 'nothing'} - stable-ish. "
        f"{C('bi-rads 3')} on the mammo btw.",
        f"family ({p.rel_word} {NAME(rng, p.relative, 'first')}) wants a call back at {P('PHONE', p.phone)} "
        f"or {P('EMAIL', p.email)}.",
        f"i'm on till 7, cell {P('PHONE', _phone(rng))} - {NAME(rng, s.rad, rng.choice(['initials', 'first']))}",
        f"ps: images pushed to {P('IP', f'10.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}')}, "
        f"link {P('URL', f'http://{p.url_host}/s/{s.acc}')}",
    ]
    rng.shuffle(msg[1:3])
    return "\n".join(msg), "lower"


def t_outside(rng, p, s, fk):
    """Outside film review / records request with billing footer."""
    outside = _institution(rng, fk)
    lines = [
        f"OUTSIDE IMAGING CONSULTATION -- films from {P('INSTITUTION', outside)}",
        f"Re: {NAME(rng, p.person, rng.choice(['last_first_mi', 'full']))}, DOB {DOB(rng, p.dob)}, "
        f"local MRN {P('MRN', p.mrn)}; outside MRN {P('MRN', _mrn(rng))}",
        f"Outside exams reviewed: ",
    ]
    for i, d in enumerate((s.priors or [s.date - _dt.timedelta(days=100)])[:4], 1):
        lines.append(f"  {i}. {rng.choice(['CT chest', 'MRI brain', 'XR pelvis', 'US abdomen'])} "
                     f"{D(rng, d, rng.choice(['us', 'long', 'iso', 'mon_d_yyyy']))} "
                     f"(accession {P('ACCESSION', _accession(rng, d))})")
    lines += [
        "",
        "Opinion: " + " ".join(_eponym_findings(rng, rng.choice(["CT", "MR"]))),
        f"Agree with outside read by {DOC(rng, _person(rng, fk))} except as noted. "
        f"{rng.choice(['Discussed at conference', 'Reviewed'])} with {C('the ED PA-C')} and {C('the charge RN')}.",
        "",
        f"Consulting radiologist: {DOC(rng, s.rad)}",
        f"DEA {P('LICENSE', _letters(rng, 2) + _digits(rng, 7))}   State lic. {P('LICENSE', f'{p.state}-{_digits(rng, 5)}')}",
        "",
        "BILLING",
        f"Guarantor: {NAME(rng, p.relative, 'last_first')} ({p.rel_word})",
        f"Mail to: {ADDR(rng, p, False)}",
        f"Account {P('ACCOUNT', p.account)}   SSN {P('SSN', p.ssn)}",
        f"Home {P('PHONE', p.phone)}   Fax {P('FAX', _phone(rng, False))}",
        f"Records request received {D(rng, s.date, 'weekday')} from "
        f"{P('EMAIL', 'records@' + p.url_host.split('.', 1)[1])}",
    ]
    return "\n".join(lines), None


TEMPLATES = {
    "ct_structured": t_ct,
    "mr_structured": t_mr,
    "xr_brief": t_xr,
    "us_vascular": t_us,
    "mammo_letter": t_mammo,
    "addendum": t_addendum,
    "teleradiology": t_telerad,
    "dictation_typos": t_dictation,
    "legacy_allcaps": t_legacy,
    "chat_lowercase": t_chat,
    "outside_review": t_outside,
}


def generate(seed: int, n: int) -> list[Case]:
    """Return ``n`` synthetic reports; same ``patient_key`` => same identity."""
    rng = random.Random(seed)
    fk = Faker("en_US")
    fk.seed_instance(rng.randrange(2 ** 31))
    providers = [_person(rng, fk) for _ in range(max(6, n // 15))]
    plan: list[tuple[Patient, int]] = []
    pid = 0
    while len(plan) < n:
        k = rng.choice([1, 1, 2, 3, 3, 4, 5])
        dates = sorted(_dt.date(2009, 1, 1) + _dt.timedelta(days=rng.randint(0, 5400)) for _ in range(k))
        pt = _patient(rng, fk, f"hp-{seed}-{pid:05d}", dates[0])
        pid += 1
        for i in range(k):
            plan.append((pt, i, dates))
    plan = plan[:n]
    rng.shuffle(plan)
    names = list(TEMPLATES)
    out: list[Case] = []
    for idx, (pt, i, dates) in enumerate(plan):
        d = dates[i]
        s = Study(
            date=d, hh=rng.randint(0, 23), mm=rng.randint(0, 59), acc=_accession(rng, d),
            inst=pt.home_inst if rng.random() < 0.5 else _institution(rng, fk),
            rad=rng.choice(providers), ref=rng.choice(providers + [pt.pcp]),
            priors=list(reversed(dates[:i])), scanner_serial=_serial(rng),
            uid=_uid(rng), series_uid=_uid(rng),
        )
        tname = names[idx % len(names)] if rng.random() < 0.5 else rng.choice(names)
        marked, mode = TEMPLATES[tname](rng, pt, s, fk)
        out.append(_render(rng, marked, mode, pt.key, tname))
    return out


def protected_occurrences(case: Case) -> list[tuple[int, int, str]]:
    """Occurrences of ``case.clinical_terms`` in ``case.text`` that do not
    overlap any PHI span (a short term such as "T2" can coincidentally occur
    inside an accession number or URL; those occurrences are excluded)."""
    out = []
    for t in case.clinical_terms:
        for m in re.finditer(re.escape(t), case.text):
            if not any(m.start() < sp.end and sp.start < m.end() for sp in case.spans):
                out.append((m.start(), m.end(), t))
    return sorted(out)


def _check(cases: list[Case]) -> None:
    for c in cases:
        prev = -1
        for sp in sorted(c.spans, key=lambda x: x.start):
            assert sp.kind in KINDS
            assert c.text[sp.start:sp.end] == sp.text and sp.text.strip() == sp.text, (c.text, sp)
            assert sp.start >= prev, ("overlap", sp)
            prev = sp.end
        prot = {t for _, _, t in protected_occurrences(c)}
        for t in c.clinical_terms:
            assert t in prot, t


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("-n", type=int, default=500)
    ap.add_argument("-o", "--out", default="reports_heldout.jsonl")
    a = ap.parse_args(argv)
    cases = generate(a.seed, a.n)
    _check(cases)
    with open(a.out, "w", encoding="utf-8") as f:
        for c in cases:
            f.write(json.dumps(dataclasses.asdict(c)) + "\n")
    counts: dict[str, int] = {}
    for c in cases:
        for sp in c.spans:
            counts[sp.kind] = counts.get(sp.kind, 0) + 1
    print(f"wrote {len(cases)} cases to {a.out}")
    for k in KINDS:
        print(f"  {k:15s} {counts.get(k, 0)}")


if __name__ == "__main__":
    main()
