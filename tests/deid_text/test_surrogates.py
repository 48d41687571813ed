"""Hiding in plain sight: surrogates keep type and format, are keyed, and are consistent per patient."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qms.deid.keying import DateShiftRange, DeidKey
from qms.deid.text import Deidentifier, PhiType
from qms.deid.text.dates import shift
from qms.deid.text.lexicon import surrogate_first_names, surrogate_last_names
from qms.deid.text.surrogates import AGE_CAP, Surrogates


@pytest.mark.parametrize(("found", "offset", "expected"), [
    ("03/04/2021", -1, "03/03/2021"),
    ("3/4/21", -4, "2/28/21"),
    ("March 4, 2021", -4, "February 28, 2021"),
    ("4 Mar 2021", 30, "3 Apr 2021"),
    ("2021-03-04", -365, "2020-03-04"),
    ("04-MAR-2021", -4, "28-FEB-2021"),
    ("Mar. 4th, 2021", -3, "Mar. 1st, 2021"),
    ("4th of March, 2021", -2, "2nd of March, 2021"),
    ("March 2021", -31, "February 2021"),
    ("Dec 31", 1, "Jan 1"),
    ("25/03/2021", -1, "24/03/2021"),
    ("12.31.2020", 1, "01.01.2021"),
    ("SEPTEMBER 3, 2019", -3, "AUGUST 31, 2019"),
    ("20210304", -4, "20210228"),
])
def test_date_shift_keeps_the_format(found: str, offset: int, expected: str) -> None:
    """A date moves by the offset and is written back with its own separators, case, padding and order."""
    assert shift(found, offset) == expected


@given(st.dates(date(1920, 1, 1), date(2060, 12, 31)), st.sampled_from(["%m/%d/%Y", "%Y-%m-%d", "%B %-d, %Y",
                                                                       "%-d %b %Y", "%m/%d/%y"]))
@settings(max_examples=60, deadline=None)
def test_report_dates_move_by_the_patients_dicom_offset(day: date, fmt: str) -> None:
    """A date in a report moves by exactly DeidKey.date_offset_days(PatientID), the DICOM pipeline's offset."""
    key, patient, shift_range = DeidKey(b"k" * 32), "PID-42", DateShiftRange(-400, -10)
    text = f"Comparison: prior study dated {day.strftime(fmt)}."
    out = Deidentifier(key, shift_range).deidentify(text, patient).text
    expected = day + timedelta(days=key.date_offset_days(patient, shift_range))
    found = re.fullmatch(r"Comparison: prior study dated (.+)\.", out)
    assert found, out
    got = _read(found.group(1), fmt)
    assert got is not None, out
    century = 100 if "%y" in fmt else 10_000  # a two-digit year keeps only the year in its century
    assert (got.year % century, got.month, got.day) == (expected.year % century, expected.month, expected.day)


def _read(text: str, fmt: str) -> date | None:
    """Parse with the format, or with its month name short or long ("May" is both)."""
    fmt = fmt.replace("%-", "%")
    for variant in (fmt, fmt.replace("%B", "%b"), fmt.replace("%b", "%B")):
        try:
            return datetime.strptime(text, variant).date()
        except ValueError:
            continue
    return None


def test_same_value_same_patient_same_surrogate_across_reports(deid: Deidentifier) -> None:
    """Jane Roe of patient P1 becomes the same name in every report of P1, even written another way."""
    a = deid.deidentify("Discussed with Jane Roe RN. Electronically signed by: Dr. Alan Grant", "P1").text
    b = Deidentifier(deid.key).deidentify("Results called to Jane Roe, NP. Dr. Grant agrees.", "P1").text
    roe_a = re.search(r"with (\w+ \w+) RN", a)
    roe_b = re.search(r"called to (\w+ \w+), NP", b)
    assert roe_a and roe_b and roe_a.group(1) == roe_b.group(1) != "Jane Roe"
    grant_a = re.search(r"Dr\. \w+ (\w+)", a)
    grant_b = re.search(r"Dr\. (\w+) agrees", b)
    assert grant_a and grant_b and grant_a.group(1) == grant_b.group(1) != "Grant"


def test_surrogates_depend_on_key_and_patient(key: DeidKey) -> None:
    """Another patient or another key gives other surrogates for the same values."""
    values = [(PhiType.NAME, "Jane Roe"), (PhiType.PHONE, "(555) 123-4567"), (PhiType.MRN, "00123456")]
    mine = [Surrogates(key, "P1").replace(t, v) for t, v in values]
    assert mine != [Surrogates(key, "P2").replace(t, v) for t, v in values]
    assert mine != [Surrogates(DeidKey(b"x" * 32), "P1").replace(t, v) for t, v in values]
    assert mine == [Surrogates(key, " p1 ").replace(t, v) for t, v in values]


@pytest.mark.parametrize(("phi_type", "value", "shape"), [
    (PhiType.PHONE, "(555) 123-4567", r"\(\d{3}\) \d{3}-\d{4}"),
    (PhiType.FAX, "555.987.6543", r"\d{3}\.\d{3}\.\d{4}"),
    (PhiType.SSN, "123-45-6789", r"9\d{2}-\d{2}-\d{4}"),
    (PhiType.MRN, "E0012345", r"[A-Z]\d{7}"),
    (PhiType.ACCESSION, "CT-20-123456", r"[A-Z]{2}-\d{2}-\d{6}"),
    (PhiType.ZIP, "62704-1234", r"\d{5}-\d{4}"),
    (PhiType.EMAIL, "jroe@mercy.org", r"[a-z]+\.[a-z]+@example\.(org|com|net)"),
    (PhiType.IP, "192.168.1.20", r"10\.\d{1,3}\.\d{1,3}\.\d{1,3}"),
    (PhiType.NAME, "ROE, JANE", r"[A-Z]+, [A-Z]+"),
    (PhiType.NAME, "J. Roe", r"[A-Z]\. [A-Z][a-z]+"),
    (PhiType.ADDRESS, "123 Main Street", r"\d{3} [A-Z][a-z]+ Street"),
    (PhiType.INSTITUTION, "Mercy General Hospital", r"[A-Z][\w ]+ Hospital"),
])
def test_surrogate_has_type_and_format(key: DeidKey, phi_type: PhiType, value: str, shape: str) -> None:
    """Each surrogate looks like what it replaces (same punctuation, case, length of numbers) and differs from it."""
    out = Surrogates(key, "P1").replace(phi_type, value)
    assert re.fullmatch(shape, out), out
    assert out != value


@pytest.mark.parametrize("text", ["92-year-old female", "92 yo F", "age 104", "Age: 95", "93 y/o man"])
def test_ages_over_89_become_90_plus(deid: Deidentifier, text: str) -> None:
    """An age over 89 is written as 90+ (45 CFR 164.514(b)(2)(i)(C)); the words around it stay."""
    out = deid.deidentify(text, "P1").text
    assert AGE_CAP in out and not re.search(r"\b(9[1-9]|1[0-4]\d)\b", out)


def test_ages_up_to_89_are_kept(deid: Deidentifier) -> None:
    """Ages of 89 and under are not identifiers and stay as written."""
    assert deid.deidentify("89-year-old female; 45 yo male", "P1").text == "89-year-old female; 45 yo male"


@given(st.sampled_from(surrogate_first_names()), st.sampled_from(surrogate_last_names()),
       st.text("ABCDEFGHJK0123456789-", min_size=1, max_size=12), st.integers(1930, 2029))
@settings(max_examples=60, deadline=None)
def test_same_patient_same_values_same_surrogates(deid: Deidentifier, first: str, last: str, patient: str,
                                                   year: int) -> None:
    """Whatever the names, patient and date, two reports of one patient give them the same surrogates."""
    a = deid.deidentify(f"Electronically signed by: {first} {last}, MD on 03/04/{year}", patient).text
    b = Deidentifier(deid.key).deidentify(f"Discussed with {first} {last} RN on 03/04/{year} by phone.", patient).text
    name_a = re.search(r"signed by: (.+), MD on (\S+)", a)
    name_b = re.search(r"with (.+) RN on (\S+) by", b)
    assert name_a and name_b, (a, b)
    assert name_a.groups() == name_b.groups()
    assert name_a.group(1) != f"{first} {last}" and name_a.group(2) != f"03/04/{year}"
