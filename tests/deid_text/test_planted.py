"""Property: identifiers planted at random in random report text never survive verbatim."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qms.deid.text import Deidentifier
from qms.deid.text.lexicon import surrogate_first_names, surrogate_last_names

pytestmark = pytest.mark.verifies("QMS-REQ-005")

_FIRST = st.sampled_from(surrogate_first_names())
_LAST = st.sampled_from(surrogate_last_names())
_MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December"]


@st.composite
def _date(draw: st.DrawFn) -> str:
    m, d, y = draw(st.integers(1, 12)), draw(st.integers(1, 28)), draw(st.integers(1930, 2029))
    return draw(st.sampled_from([f"{m:02d}/{d:02d}/{y}", f"{m}/{d}/{y % 100:02d}", f"{_MONTHS[m - 1]} {d}, {y}",
                                 f"{d} {_MONTHS[m - 1][:3]} {y}", f"{y}-{m:02d}-{d:02d}"]))


@st.composite
def _identifier(draw: st.DrawFn) -> tuple[str, str]:
    """(text around it, the identifier): one planted value in one of the contexts reports use."""
    first, last = draw(_FIRST), draw(_LAST)
    digits = draw(st.text("0123456789", min_size=7, max_size=10))
    a, b, c = draw(st.integers(201, 989)), draw(st.integers(200, 999)), draw(st.integers(0, 9999))
    kind = draw(st.sampled_from(["dr", "signed", "dw", "patient", "mrn", "acc", "phone", "date", "email", "ssn"]))
    return {
        "dr": ("Findings discussed with Dr. {} by phone.", last),
        "signed": ("Electronically signed by: {}, MD", f"{first} {last}"),
        "dw": ("d/w {} RN at the bedside.", f"{first} {last}"),
        "patient": ("PATIENT: {}\n", f"{last.upper()}, {first.upper()}"),
        "mrn": ("MRN: {}\n", digits),
        "acc": ("Accession #: {}\n", f"A{digits}"),
        "phone": ("Call the reading room at {}.", f"({a}) {b}-{c:04d}"),
        "date": ("Compared with the study of {}.", draw(_date())),
        "email": ("Questions: {}", f"{first.lower()}.{last.lower()}@hospital.org"),
        "ssn": ("SSN {}", f"{a:03d}-{c % 100:02d}-{b:04d}"),
    }[kind]


_FILLER = st.sampled_from([
    "The lungs are clear.", "No pleural effusion.", "Kerley B lines are present.", "Foley catheter in place.",
    "Heart size is normal.", "IMPRESSION: No acute process.", "Mild degenerative change of the thoracic spine.",
])


@given(st.lists(st.tuples(_FILLER, _identifier()), min_size=1, max_size=6), st.text("ABCDEFGH0123456789", min_size=1,
                                                                                 max_size=8))
@settings(max_examples=80, deadline=None)
def test_no_planted_identifier_survives(deid: Deidentifier, planted: list[tuple[str, tuple[str, str]]],
                                        patient: str) -> None:
    """Whatever the mix of prose and identifiers, no planted identifier is left word for word."""
    text = "\n".join(f"{filler} {template.format(value)}" for filler, (template, value) in planted)
    result = deid.deidentify(text, patient).text
    for _, (_, value) in planted:
        assert not re.search(rf"(?<!\w){re.escape(value)}(?!\w)", result), (value, result)
    assert "Kerley B lines" in result or "Kerley B lines" not in text

