"""A harder annotated corpus than `qms.deid.text.synth`: other authors' styles, PHI where nobody looks.

Written from the list of misses of issue #19, not from the detector's rules: lower-case and
all-caps names, names that are also words (Rose, Hope, Bill) or sit beside eponyms, DICOM
`LAST^FIRST^M` names, UIDs and accession numbers in prose, alphanumeric and hyphenated
record numbers, every date and phone form, addresses with suites, ages over 89 in digits
and in words. Templates mark an identifier as `<KIND|value>`; every value is synthetic.
"""

from __future__ import annotations

import random
import re
import unicodedata
from datetime import date, timedelta

from faker import Faker

from qms.deid.text.phi import PhiType
from qms.deid.text.synth import AnnotatedReport, GoldSpan

__all__ = ["CLINICAL", "generate"]

_WORD_NAMES = ("Rose", "Hope", "Bill", "Faith", "Grace", "Will", "Joy", "Frank", "Mark", "Gene", "Dawn", "Summer")
_ONES = ("", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December")
CLINICAL = ("Parkinson disease", "Hodgkin lymphoma", "Foley catheter", "Kerley B lines", "Swan-Ganz catheter",
            "Baker cyst", "Crohn disease", "Schatzki ring", "Bankart lesion", "Hill-Sachs lesion", "Graves disease",
            "Wilms tumor", "Chiari malformation", "Monteggia fracture", "Colles fracture", "Pancoast tumor")

_TEMPLATES = (
    "PATIENT: <NAME|{DICOM}>   MRN: <MRN|{mrn}>   ACC: <ACCESSION|{acc}>\nEXAM DATE: <DATE|{date1}>\n"
    "FINDINGS: {clin}. No change since <DATE|{month_of}>.\nImpression: stable. Follow-up on <DATE|{md}>.",
    "history: <AGE|{age_digits}> y/o {sex} w/ {clin}, lives with daughter <NAME|{word_first}> at <ADDRESS|{street}>,"
    " <CITY|{city}>, {state} <ZIP|{zip}>. pcp dr <NAME|{lower_last}>.",
    "Pt is <AGE|{age_words}> years old. Study Instance UID <UID|{uid}> reviewed with Dr. <NAME|{last}> "
    "(pager <PHONE|{pager}>). Prior {clin} noted.",
    "The patient is <AGE|{age_digits}> and was seen at <INSTITUTION|{hospital}> on <DATE|{date2}>. Ordering: "
    "<NAME|{first} {last}>, DO. Call <PHONE|{phone}> with results.",
    "Scanner: GE Discovery MR750 3T. Technologist <NAME|{first_upper} {last_upper}>. Record no. <MRN|{hyphen_id}>."
    " {clin} again seen. Case discussed with <NAME|{word_first} {last}> at <PHONE|{phone_dots}>.",
    "DATE OF BIRTH:\n<DATE|{dob8}>\nSeries UID: <UID|{uid}>\nAccession <ACCESSION|{acc}>. {clin}.",
    "Addendum <DATE|{date3}>: images sent to <EMAIL|{email}>; fax <FAX|{phone}>. Per <NAME|{first} {last}>, "
    "{clin} was known since <DATE|{month_year}>.",
    "{clin}. A <AGE|{age_digits}>-year-old woman, MRN <MRN|{alnum_mrn}>, SSN <SSN|{ssn}>, at <ADDRESS|{street_suite}>.",
    "Comparison: <DATE|{slash_short}> and <DATE|{iso}>. {clin} in this <AGE|{age_words}>-year-old. "
    "Read by <NAME|{last}>, <NAME|{first}> MD on <DATE|{date1}>.",
    "<NAME|{first} {last}> ({clin}) age <AGE|{age_digits}>; see <URL|{url}> and IP <IP|{ip}>.",
)


def _age_words(n: int) -> str:
    tens = "ninety" if n < 100 else "one hundred"
    unit = n % 10 if n < 100 else n - 100
    if n >= 100:
        return tens if unit == 0 else f"{tens} and {_ONES[unit]}" if unit < 10 else f"{tens} {unit}"
    return tens if unit == 0 else f"{tens}-{_ONES[unit]}"


def _ascii(name: str) -> str:
    return re.sub(r"[^a-z]", "", unicodedata.normalize("NFKD", name.lower()))


def _digits(rng: random.Random, n: int) -> str:
    return "".join(rng.choice("0123456789") for _ in range(n))


def _date_forms(rng: random.Random, d: date) -> dict[str, str]:
    month = _MONTHS[d.month - 1]
    return {"date1": rng.choice((f"{d.month}/{d.day}/{d.year}", f"{d:%m-%d-%Y}", f"{d.day} {month} {d.year}",
                                 f"{month[:3]}. {d.day}, {d.year}", f"{month.upper()} {d.day}, {d.year}")),
            "date2": rng.choice((f"{d:%Y/%m/%d}", f"{d.day}-{month[:3].upper()}-{d.year}", f"{d:%m.%d.%Y}")),
            "date3": rng.choice((f"{month} {d.day}{'th' if d.day > 3 else ''} {d.year}", f"{d:%m/%d/%y}")),
            "month_of": f"{month} of {d.year}", "month_year": rng.choice((f"{month} {d.year}", f"{d.month}/{d.year}")),
            "md": f"{d.month}/{max(d.day, 13)}", "slash_short": f"{d.month}/{d.day}/{d.year % 100:02d}",
            "iso": f"{d:%Y-%m-%d}"}


def _fill(rng: random.Random, fake: Faker) -> dict[str, str]:
    first, last = fake.first_name(), fake.last_name()
    exam = date(2012, 1, 1) + timedelta(days=rng.randint(0, 4000))
    age = rng.randint(90, 109)
    dob = exam - timedelta(days=365 * rng.randint(20, 85) + rng.randint(0, 300))
    values = {
        "first": first, "last": last, "first_upper": first.upper(), "last_upper": last.upper(),
        "lower_last": last.lower(), "word_first": rng.choice(_WORD_NAMES),
        "DICOM": f"{last.upper()}^{first.upper()}^{rng.choice('ABCDEFGHJKLMNPRST')}",
        "mrn": _digits(rng, rng.choice((6, 7, 8))),
        "alnum_mrn": rng.choice("ABCDEFGHJKLMNPRSTW") + rng.choice("ABCDEFGHJKLMNPRSTW") + _digits(rng, 6),
        "hyphen_id": f"{_digits(rng, 2)}-{_digits(rng, 3)}-{_digits(rng, 2)}",
        "acc": rng.choice(("", "RAD", "A")) + _digits(rng, rng.choice((6, 8, 10))),
        "uid": "1.2.840." + ".".join(str(rng.randint(1, 99999)) for _ in range(rng.randint(4, 8))),
        "age_digits": str(age), "age_words": _age_words(age), "sex": rng.choice(("F", "M", "female", "male")),
        "street": f"{rng.randint(1, 9999)} {fake.last_name()} {rng.choice(('Street', 'Ave', 'Road', 'Blvd', 'Lane'))}",
        "street_suite": f"{rng.randint(1, 999)} {fake.last_name()} Drive, Suite {rng.randint(100, 999)}",
        "city": rng.choice(("Springfield", "Fairview", "Riverside", "Greenville", "Madison", "Georgetown")),
        "state": rng.choice(("OH", "IL", "TX", "Ohio", "NY")), "zip": _digits(rng, 5),
        "hospital": f"{fake.last_name()} {rng.choice(('Memorial Hospital', 'Medical Center', 'Clinic'))}",
        "phone": f"({rng.randint(201, 989)}) {rng.randint(200, 999)}-{_digits(rng, 4)}",
        "phone_dots": f"{rng.randint(201, 989)}.{rng.randint(200, 999)}.{_digits(rng, 4)}",
        "pager": f"{rng.randint(201, 989)}-{_digits(rng, 4)}", "ssn": f"{_digits(rng, 3)}-{_digits(rng, 2)}-{_digits(rng, 4)}",
        "email": f"{_ascii(first)}.{_ascii(last)}@example.org", "url": f"https://portal.example.org/pt/{_digits(rng, 6)}",
        "ip": f"10.{rng.randint(0, 254)}.{rng.randint(0, 254)}.{rng.randint(1, 254)}", "dob8": f"{dob:%Y%m%d}",
        "clin": rng.choice(CLINICAL),
    }
    return values | _date_forms(rng, exam)


_MARK = re.compile(r"<(?P<kind>[A-Z]+)\|(?P<value>[^<>]*)>")


def _render(template: str, values: dict[str, str]) -> tuple[str, list[GoldSpan]]:
    marked = template.format(**values)
    out, spans, pos = [], [], 0
    for m in _MARK.finditer(marked):
        out.append(marked[pos:m.start()])
        start = sum(len(p) for p in out)
        out.append(m.group("value"))
        spans.append(GoldSpan(start, start + len(m.group("value")), PhiType(m.group("kind"))))
        pos = m.end()
    out.append(marked[pos:])
    return "".join(out), spans


def generate(seed: int, count: int) -> list[AnnotatedReport]:
    """`count` reports of two or three templates each; the same seed gives the same corpus."""
    rng = random.Random(seed)
    fake = Faker(["en_US", "en_GB", "de_DE", "es_ES", "it_IT"])
    fake.seed_instance(seed)
    reports = []
    for n in range(count):
        values = _fill(rng, fake)
        text, spans = "", []
        for template in rng.sample(_TEMPLATES, rng.randint(2, 3)):
            part, found = _render(template, values)
            spans += [GoldSpan(s.start + len(text), s.end + len(text), s.type) for s in found]
            text += part + "\n\n"
        reports.append(AnnotatedReport(text, f"HARD{seed:03d}{n:05d}", tuple(spans)))
    return reports
