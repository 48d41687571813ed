"""Free text in DICOM headers and SR trees goes through the report-text PHI detector (issue 19, item 1)."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from io import BytesIO

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydicom import dcmread
from pydicom.dataset import Dataset
from pydicom.filewriter import dcmwrite

from qms.deid.dataset import Deidentifier, patient_key
from qms.deid.header_text import FileHints, HeaderText
from qms.deid.keying import DeidKey
from qms.deid.options import DeidOptions
from qms.deid.pixels import PixelOptions
from qms.deid.reader import deidentify_bytes
from qms.deid.residual_text import SourceValues, TextScan, walk
from qms.deid.text import Deidentifier as TextDeidentifier
from tests.deid.phi_dicom import (CLEAN_TEXT, HEADER_TEXT, PATIENT, PHI, PRIOR_DATE, SNOMED_CODE, SR_DOCTOR,
                                  STUDY_DATE, phi_ct, phi_sr, safe_private_options, text_path)

KEY = DeidKey(b"free-text-test-key-of-32-bytes!!")


def _bytes(ds: Dataset) -> bytes:
    out = BytesIO()
    dcmwrite(out, ds, enforce_file_format=True)
    return out.getvalue()


def _deidentified(ds: Dataset, options: DeidOptions | None = None) -> Dataset:
    data = deidentify_bytes(_bytes(ds), Deidentifier(KEY, options or safe_private_options()), PixelOptions()).data
    return dcmread(BytesIO(data))


def _text_values(ds: Dataset) -> str:
    return "\n".join(str(elem.value) for _, elem in walk(ds) if elem.VR in ("LO", "LT", "PN", "SH", "ST", "UC", "UT"))


def _sr_text(ds: Dataset) -> str:
    """The TextValue of the one TEXT item of an SR tree."""
    [value] = [str(e.value) for p, e in walk(ds) if p.endswith("(0040,A160)")]
    return value


def test_no_planted_value_survives_in_any_free_text_element() -> None:
    """Every planted name, SSN, address, city, phone, date, MRN and hospital is gone from every text element of a
    CT (cleaned, unlisted and safe-listed private text) and of an SR tree three levels deep."""
    for ds in (phi_ct(burned=False), phi_sr(depth=3)):
        text = _text_values(_deidentified(ds)).upper()
        assert [value for value in PHI if value.upper() in text] == []


def test_the_tree_of_an_sr_keeps_its_shape_and_its_codes() -> None:
    """De-identified SR text is replaced in place: the tree keeps every item, and code values stay as they were."""
    out = _deidentified(phi_sr(depth=4))
    paths = [path for path, _ in walk(out)]
    assert any(p.endswith("(0040,A160)") and p.count("(0040,A730)") == 5 for p in paths)
    codes = {str(e.value) for p, e in walk(out) if p.startswith("(0040,A730)") and p.endswith("(0008,0100)")}
    assert codes == {SNOMED_CODE}


def test_text_without_phi_is_kept_as_it_was() -> None:
    """A text element in which the detector finds nothing keeps its value exactly."""
    out = _deidentified(phi_ct(burned=False))
    assert out.ImageComments == CLEAN_TEXT


def test_a_name_in_a_report_and_in_an_image_header_gets_the_same_surrogate() -> None:
    """The same sentence in a report of the patient and in the TextValue of the patient's SR becomes the same
    surrogate text: one key, one patient, one surrogate per name and per date."""
    sentence = f"Discussed with Dr. {SR_DOCTOR} on {PRIOR_DATE}."
    out = _deidentified(phi_sr(text=sentence, depth=3))
    header = _sr_text(out)
    patient = patient_key(PATIENT.patient_id, str(PATIENT.name))
    report = TextDeidentifier(KEY, DeidOptions().date_shift).deidentify(sentence, patient).text
    assert header == report
    assert SR_DOCTOR.split()[1] not in header


def test_dates_in_text_move_by_the_patients_offset_like_the_header_dates() -> None:
    """A date in free text moves by the same per-patient offset as StudyDate, keeping its format."""
    out = _deidentified(phi_sr(depth=3))
    offset = (datetime.strptime(str(out.StudyDate), "%Y%m%d").date() - date.fromisoformat(
        f"{STUDY_DATE[:4]}-{STUDY_DATE[4:6]}-{STUDY_DATE[6:]}")).days
    assert offset != 0
    shifted = (datetime.strptime(PRIOR_DATE, "%m/%d/%Y").date() + timedelta(days=offset)).strftime("%m/%d/%Y")
    text = _sr_text(out)
    assert shifted in text and PRIOR_DATE not in text


def test_an_age_over_89_in_text_is_capped() -> None:
    """"93 y/o" in AdditionalPatientHistory becomes "90+ y/o", as PatientAge 093Y becomes 090Y."""
    out = _deidentified(phi_ct(burned=False))
    assert str(out.AdditionalPatientHistory).startswith("90+ y/o") and out.PatientAge == "090Y"


def test_private_text_of_the_safe_list_is_kept_and_cleaned() -> None:
    """A safe-listed private text element stays, its PHI replaced; without the safe-list entry it is removed."""
    kept = _deidentified(phi_ct(burned=False))
    note = kept.private_block(0x0029, "ACME NOTES 1.0")[0x10].value
    assert note.startswith("Tech note: SSN ") and "512-38-7740" not in note
    removed = _deidentified(phi_ct(burned=False), DeidOptions())
    assert (0x0029, 0x1010) not in removed


def test_a_kept_person_name_gets_the_name_surrogate() -> None:
    """A person name the profile does not list (EvaluatorName) is replaced by the patient's name surrogate."""
    out = _deidentified(phi_ct(burned=False))
    assert str(out.EvaluatorName) != HEADER_TEXT["EvaluatorName"][1] and "^" in str(out.EvaluatorName)


@pytest.mark.parametrize(("charset", "text", "kept"), [
    ("ISO_IR 100", "Hausarzt: Dr. Jürgen Weißmüller, Tel. (330) 555-0142. Überweisung.", "Überweisung."),
    ("ISO_IR 192", "Dr. Zoë Ångström called 617-555-0199 — ok", "— ok"),
])
def test_text_in_another_character_set_is_cleaned_in_it(charset: str, text: str, kept: str) -> None:
    """A comment in Latin-1 or UTF-8 loses its name and phone and keeps its other non-ASCII text."""
    ds = phi_ct(burned=False)
    ds.SpecificCharacterSet, ds.PatientComments = charset, text
    comments = str(_deidentified(ds).PatientComments)
    assert comments.endswith(kept) and "555-01" not in comments
    assert not {"Jürgen", "Weißmüller", "Zoë", "Ångström"} & set(re.findall(r"\w+", comments))


_FAMILY = ("Quellmark", "Rasmundsen", "Tovesdal", "Vangsnes", "Wexholm", "Brannock", "Ostergaard", "Lindqvist")
_GIVEN = ("Alda", "Berit", "Corwin", "Dagny", "Evander", "Fenna", "Gorm", "Hilde")
_TEMPLATES = {  # how a clinician writes each kind: (template, PHI type)
    "ssn": ("SSN {}", "SSN"), "phone": ("call back at {}", "PHONE"), "doctor": ("seen by Dr. {}", "NAME"),
    "date": ("prior exam on {}", "DATE"), "street": ("lives at {}", "ADDRESS"),
}
_ELEMENTS = ("PatientComments", "AdditionalPatientHistory", "ImageComments", "DerivationDescription",
             "ReasonForVisit", "ProtocolPlanningInformation", "CalibrationNotes", "sr")
_VALUES = {
    "ssn": st.tuples(st.integers(100, 665), st.integers(10, 99), st.integers(1000, 9999)).map(
        lambda t: f"{t[0]}-{t[1]}-{t[2]}"),
    "phone": st.tuples(st.integers(201, 989), st.integers(1000, 9999)).map(lambda t: f"({t[0]}) 555-{t[1]}"),
    "doctor": st.tuples(st.sampled_from(_GIVEN), st.sampled_from(_FAMILY)).map(" ".join),
    "date": st.dates(date(1950, 1, 1), date(2024, 12, 31)).map(lambda d: d.strftime("%m/%d/%Y")),
    "street": st.tuples(st.integers(10, 9999), st.sampled_from(_FAMILY)).map(lambda t: f"{t[0]} {t[1]} Street"),
}
_planted = st.sampled_from(sorted(_TEMPLATES)).flatmap(
    lambda kind: st.tuples(st.just(kind), _VALUES[kind], st.sampled_from(_ELEMENTS), st.integers(3, 5)))


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(plants=st.lists(_planted, min_size=1, max_size=4))
def test_planted_phi_is_replaced_and_verify_finds_it_in_an_unchanged_copy(
        plants: list[tuple[str, str, str, int]]) -> None:
    """PHI written the way clinicians write it, in random free-text elements and SR trees 3 to 5 levels deep,
    is gone after de-identification, and the verify scan finds each planted kind at its tag path in an
    unchanged copy."""
    ct, sr_texts = phi_ct(burned=False), []
    for kind, value, element, _ in plants:
        sentence = _TEMPLATES[kind][0].format(value)
        if element == "sr":
            sr_texts.append(sentence)
        else:
            setattr(ct, element, f"{getattr(ct, element, '')} {sentence}.".strip())
    depth = plants[0][3]
    datasets = [ct] + ([phi_sr(text=". ".join(sr_texts), depth=depth)] if sr_texts else [])
    found = set()
    for ds in datasets:
        text = _text_values(_deidentified(ds)).upper()
        assert [value for _, value, _, _ in plants if value.upper() in text] == []
        scan = TextScan().findings("f.dcm", ds, SourceValues.of(ds))  # ds unchanged: its own source
        found |= {(f.where, f.reason.split()[0]) for f in scan}
    for kind, _, element, _ in plants:
        where = text_path(depth) if element == "sr" else str(ct[element].tag)
        assert (where, _TEMPLATES[kind][1]) in found


_WORDS = st.sampled_from(["Quellmark", "QUELLMARK", "quellmark", "Dagny", "TQ5581204", "ACX90117342", "Dr.", "SSN",
                          "512-38-7740", "11/02/2019", "(330) 555-0142", "CT", "HEAD", "Parkinson", "disease",
                          "no", "acute", "findings", "93", "y/o", "Hope", "Rose", "lives", "at", "12", "Elm", "St"])
_NAMES = st.lists(st.sampled_from(["QUELLMARK^DAGNY", "ROSE^HOPE^T", "Wexholm^Alda^^Dr", "ELM^ST"]), max_size=2)
_IDS = st.lists(st.sampled_from(["TQ5581204", "ACX90117342", "CT66", "Elm St Clinic"]), max_size=2)


@settings(max_examples=40, deadline=None)
@given(values=st.lists(st.lists(_WORDS, min_size=1, max_size=10).map(" ".join), min_size=1, max_size=6),
       hints=st.lists(st.tuples(_NAMES, _IDS, st.sampled_from(["045Y", "093Y"])), min_size=1, max_size=3))
def test_the_fast_path_gives_what_the_detector_gives(values: list[str],
                                                      hints: list[tuple[list[str], list[str], str]]) -> None:
    """Skipping values the detector finds nothing in and remembering cleaned values never changes a result: an
    engine that has seen other files and patients cleans a value as a fresh one does, and any value in which
    the detector finds an identifier is changed."""
    files = [FileHints.of(f"P{i}", {0x00100010: names, 0x00100020: ids, 0x00101010: [age]})
             for i, (names, ids, age) in enumerate(hints)]
    seen = HeaderText(KEY, DeidOptions().date_shift)
    for value in values:
        for i, file in enumerate(files):
            seen.clean(value, "UT", f"P{i}", file)
    for value in values:
        for i, file in enumerate(files):
            fresh = HeaderText(KEY, DeidOptions().date_shift)
            out = fresh.clean(value, "UT", f"P{i}", file)
            assert seen.clean(value, "UT", f"P{i}", file) == out
            found = TextDeidentifier(KEY, DeidOptions().date_shift).deidentify(value, f"P{i}", file.hints).spans
            assert out[0] != value if found else (out[0] == value or out[1] > 0)
