"""The PHI detector on the misses of issue #19, one by one: every form found, every clinical term kept."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qms.deid.text import Deidentifier, Hints, PhiSpan, PhiType, Span, detect, find_phi
from qms.deid.text.occurrences import WordIndex

# (text, the identifier in it): each a form an independent corpus showed the detector missing.
FOUND = [
    ("Study Instance UID 1.2.840.113619.2.55.3.604688119.868.1249343483.504 reviewed.",
     "1.2.840.113619.2.55.3.604688119.868.1249343483.504"),
    ("Series 2.25.329800735698586629295641978511506172918 was sent.", "2.25.329800735698586629295641978511506172918"),
    ("The patient is 91 and lives alone.", "91"),
    ("A ninety-six year old woman with cough.", "ninety-six"),
    ("Pt is one hundred and four years old.", "one hundred and four"),
    ("woman aged 94, with abdominal pain", "94"),
    ("AGE: 097Y  SEX: F", "097Y"),
    ("A 93-YEAR-OLD MALE.", "93"),
    ("Patient: TAKAHASHI^LING^T", "TAKAHASHI^LING^T"),
    ("MRN BW271709 on file", "BW271709"),
    ("Record no. 45-213-45.", "45-213-45"),
    ("(mrn gb638368), 71 y/o f", "gb638368"),
    ("Compared with CT from July of 2012.", "July of 2012"),
    ("Follow-up on 5/24 recommended.", "5/24"),
    ("Seen Wednesday, July 4, 2012 in clinic.", "Wednesday, July 4, 2012"),
    ("signed 07/04/2012 14:32 by", "07/04/2012 14:32"),
    ("compared w/ jan-2015 - stable", "jan-2015"),
    ("exam 20120704 done", "20120704"),
    ("DATE OF BIRTH:\n19650314\n", "19650314"),
    ("PT NAME: MILLER,GINA A            MRN: 600", "MILLER,GINA A"),
    ("pcp dr valenzuela.", "valenzuela"),
    ("Technologist TEODORA PORTA. Record", "TEODORA PORTA"),
    ("lives with her daughter Rose at home", "Rose"),
    ("Final read: Dr. Joseph E. Long  07/15/2014", "Joseph E. Long"),
    ("ATT: SMALL\nEXAM: CT HEAD", "SMALL"),
    ("last edited 08/10/2020 11:12 by G.J.W.", "G.J.W."),
    ("lives in Springfield, IL 62704 with", "Springfield, IL 62704"),
    ("ADDR: 4338 YOUNG STREET APT. 104, PORT", "4338 YOUNG STREET APT. 104"),
    ("at 918 Cañizares Drive, Suite 838.", "918 Cañizares Drive, Suite 838"),
    ("Pristina S/N XNT117409Z.", "XNT117409Z"),
    ("  (0018,1000) DeviceSerialNumber     = SN-D0CR8639\n", "SN-D0CR8639"),
    ("pager 7158773426 ext 4484)", "7158773426 ext 4484"),
    ("RIS/HIS  SAINT LUKE'S HEALTH SYSTEM  RADIOLOGY", "SAINT LUKE'S HEALTH SYSTEM"),
    ("97 y/o m from lake john community hospital.", "lake john community hospital"),
]

# Clinical text that must come out unchanged, each beside identifiers that are replaced.
KEPT = [
    "Scanner: GE Discovery MR750 3T.", "Pain 7/10, strength 4/5, BP 120/80.",
    "Disc bulge at C5-C6 and L4-L5; T2/FLAIR hyperintensity in the white matter.", "This may represent edema.",
    "Will follow up in 3 months.", "Long segment stenosis.", "Brown fat uptake.", "Medtronic Azure XT DR MRI SureScan.",
    "Marked improvement. BI-RADS 4A.", "Known Parkinson disease and Down syndrome.", "the ED PA-C and the charge RN",
    "series 3 image 45, DLP 345 mGy*cm, CTDIvol 6.8 mGy",
]


@pytest.mark.parametrize(("text", "value"), FOUND, ids=[v for _, v in FOUND])
def test_listed_forms_are_found_whole(text: str, value: str) -> None:
    """Every letter and digit of each listed identifier form lies inside a found span."""
    start = text.index(value)
    spans = find_phi(text)
    covered = {i for s in spans for i in range(s.start, s.end)}
    assert all(i in covered for i in range(start, start + len(value)) if text[i].isalnum()), spans


@pytest.mark.parametrize("text", KEPT)
def test_clinical_text_is_kept(deid: Deidentifier, text: str) -> None:
    """Scanner models, credentials, scores, levels, eponyms and name-like words survive next to a replaced name."""
    report = f"Discussed with Dr. Mary Holmes on 03/04/2021. {text}"
    out = deid.deidentify(report, "P1").text
    assert text in out and "Holmes" not in out and "03/04/2021" not in out


@pytest.mark.parametrize("signature", ["Read by Angela Moss, DO.", "Read by Angela Moss, MD.", "Angela Moss, PA-C, 11/11"])
def test_credentials_stay_credentials(deid: Deidentifier, signature: str) -> None:
    """The name before a credential is replaced; the credential (DO, MD, PA-C) is neither a surname nor a state."""
    out = deid.deidentify(signature, "P1").text
    credential = re.search(r", (DO|MD|PA-C)", signature)
    assert credential and credential.group() in out and "Moss" not in out


def test_spans_are_typed_ordered_and_disjoint() -> None:
    """find_phi gives PhiSpan(start, end, kind) in order, never overlapping, on any string."""
    text = "Jane Roe, MD called 555-867-5309 on 3/4/2021 about MRN 12345678."
    spans = find_phi(text)
    assert all(isinstance(s, PhiSpan) and isinstance(s.kind, PhiType) for s in spans)
    assert all(a.end <= b.start for a, b in zip(spans, spans[1:]))
    assert {s.kind for s in spans} >= {PhiType.NAME, PhiType.PHONE, PhiType.DATE, PhiType.MRN}
    assert find_phi("") == [] and find_phi("No acute process.") == []


def test_hints_find_header_values_without_context() -> None:
    """A hinted id and the words of a hinted DICOM name are found in any case where nothing else marks them."""
    text = "comment: takahashi called re X7Q2 results; TAKAHASHI aware. Ling to follow."
    spans = find_phi(text, Hints(identifiers=("x7q2",), names=("TAKAHASHI^LING^T",)))
    found = {s.text(text) for s in spans}
    assert {"X7Q2", "TAKAHASHI", "Ling", "takahashi"} <= found


def test_header_name_and_report_name_share_a_surrogate(deid: Deidentifier) -> None:
    """A name gets the same surrogate words in a DICOM header (PN) and in a report of the same patient."""
    header = deid.surrogate("PAT-1", PhiType.NAME, "TAKAHASHI^LING^T")
    report = deid.deidentify("Discussed with Ling Takahashi, MD.", "PAT-1").text
    family, given, _ = header.split("^")
    assert f"{given.title()} {family.title()}" in report
    assert deid.surrogate("PAT-2", PhiType.NAME, "TAKAHASHI^LING^T") != header


@pytest.mark.parametrize("text", ["A 91-year-old man.", "Pt is ninety-six years old.", "AGE: 097Y", "aged 102,"])
def test_ages_over_89_are_capped(deid: Deidentifier, text: str) -> None:
    """An age over 89, in digits or in words, becomes the 90+ category."""
    out = deid.deidentify(text, "P1").text
    assert "90+" in out and not re.search(r"9[1-9]|10\d|ninety-six", out)


@pytest.mark.parametrize(("text", "hints"), [
    ("DOB: 03/14/1925. A 96 y/o woman. Exam 05/02/2021.", Hints()),
    ("DOB: 03/14/1925. Exam 05/02/2021.", Hints()),
    ("DATE OF BIRTH:\n19250314\nExam 05/02/2021.", Hints()),
    ("Born 03/14/1931; seen 05/02/2021.", Hints(over_89=True)),
])
def test_birth_date_of_a_patient_over_89_is_withheld(deid: Deidentifier, text: str, hints: Hints) -> None:
    """For a patient over 89 the birth date is withheld (stated so), so no date pair gives the age."""
    out = deid.deidentify(text, "P1", hints).text
    assert "[withheld: age 90+]" in out and "1925" not in out and "1931" not in out
    assert "05/02/2021" not in out and re.search(r"\d\d/\d\d/\d{4}", out)  # the exam date shifts as usual


def test_birth_date_under_90_shifts_in_its_own_format(deid: Deidentifier) -> None:
    """An 8-digit birth date of a younger patient becomes another valid 8-digit date, shifted by the patient's offset."""
    out = deid.deidentify("DATE OF BIRTH:\n19650314\n", "P1").text
    value = out.split("\n")[1]
    assert re.fullmatch(r"(19|20)\d\d(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])", value) and value != "19650314"


def test_a_long_report_is_found_as_its_parts() -> None:
    """A report repeated 200 times has the spans of one copy at every copy (nothing is lost on long texts)."""
    one = "Dictated by Jane Roe, MD on 3/4/2021. MRN 12345678. Kerley B lines.\n"
    single = [(s.start, s.end, s.kind) for s in find_phi(one)]
    many = [(s.start, s.end, s.kind) for s in find_phi(one * 200)]
    assert many == [(a + i * len(one), b + i * len(one), k) for i in range(200) for a, b, k in single]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 60), st.integers(1, 12), st.sampled_from(list(PhiType))), max_size=40))
def test_overlaps_resolve_as_the_quadratic_rule_did(raw: list[tuple[int, int, PhiType]]) -> None:
    """The bisecting resolution keeps exactly the spans that pairwise comparison keeps (longest first, then type)."""
    spans = [Span(start, start + length, kind) for start, length, kind in raw]
    kept: list[Span] = []
    for span in sorted(spans, key=lambda s: (s.start - s.end, detect._PRIORITY[s.kind], s.start)):
        if not any(span.overlaps(k) for k in kept):
            kept.append(span)
    assert detect.resolve(spans) == sorted(kept)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(["Roe", "roe", "Roe-Smith", "O'Roe", "Roe's", "x1", "1x", " ", "\n", ".", "-"]),
                max_size=30))
def test_word_index_finds_what_a_regex_finds(pieces: list[str]) -> None:
    """The one-pass word index finds a value at exactly the places a whole-word regex search finds it."""
    text = "".join(pieces)
    expected = [m.start() for m in re.finditer(r"(?<![^\W_])Roe(?![^\W_])", text)]
    assert list(WordIndex(text).values("Roe")) == expected
