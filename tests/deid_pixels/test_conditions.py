"""Header conditions of the region library evaluated against synthetic headers."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

from qms.deid.pixels import default_library
from qms.deid.pixels.conditions import ConditionSyntaxError, parse_condition
from tests.deid_pixels.synthetic import header


def _ge_ct() -> Dataset:
    return header(
        512,
        512,
        Modality="CT",
        Manufacturer="GE MEDICAL SYSTEMS",
        SeriesDescription="Dose Report",
        ImageType=["DERIVED", "SECONDARY", "SCREEN SAVE"],
        BurnedInAnnotation="YES",
        WindowWidth="1",
    )


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ('Modality.equals("CT")', True),
        ('Modality.equals("ct")', False),
        ('Modality.equalsIgnoreCase("ct")', True),
        ('Manufacturer.contains("MEDICAL")', True),
        ('Manufacturer.contains("medical")', False),
        ('Manufacturer.containsIgnoreCase("ge medical")', True),
        ('Manufacturer.startsWith("GE ")', True),
        ('Manufacturer.startsWithIgnoreCase("ge ")', True),
        ('Manufacturer.endsWith("SYSTEMS")', True),
        ('Manufacturer.endsWithIgnoreCase("systems")', True),
        ('Manufacturer.matches("GE.*S")', True),
        ('Manufacturer.matches("GE")', False),
        ("StationName.isBlank()", True),
        ("Manufacturer.isBlank()", False),
        ("Manufacturer.exists()", True),
        ('Rows.equals("512")', True),
        ('Rows.isGreaterThan("500")', True),
        ('Rows.isLessThan("500")', False),
        ('WindowWidth.equals("1")', True),
        ('ImageType.containsIgnoreCase("SECONDARY")', True),
        ('ImageType.equals("DERIVED\\\\SECONDARY\\\\SCREEN SAVE")', True),
        ('[0008,0070].containsIgnoreCase("ge medical")', True),
        ('[0028,0010].equals("512")', True),
        ('!Modality.equals("MR")', True),
        ('Modality.equals("MR") + Modality.equals("CT")', True),
        ('Modality.equals("MR") * Modality.equals("CT")', False),
        ('Modality.equals("MR") * Modality.equals("MR") + Modality.equals("CT")', True),
        ('Modality.equals("MR") * (Modality.equals("MR") + Modality.equals("CT"))', False),
        ('!(Modality.equals("MR") + Modality.equals("US"))', True),
        ('SeriesDescription.containsIgnoreCase ("dose")', True),
        ("true.", True),
        ("false. + !true.", False),
        ('CodeMeaning.containsIgnoreCase("phantom")', True),
    ],
)
def test_condition_on_synthetic_header(condition: str, expected: bool) -> None:
    """Each operator, and/or/not with CTP's precedence, and parentheses evaluate as CTP defines them."""
    ds = _ge_ct()
    item = Dataset()
    item.CodeMeaning = "IEC Body Dosimetry Phantom"
    ds.CTDIPhantomTypeCodeSequence = Sequence([item])
    assert parse_condition(condition).holds(ds) is expected


@pytest.mark.parametrize("text", ["", "Modality", 'Modality.equals("CT"', 'Modality.equals("CT") Modality', "@"])
def test_syntax_errors_are_rejected(text: str) -> None:
    """Incomplete or stray input is a syntax error, never a condition that silently holds."""
    with pytest.raises(ConditionSyntaxError):
        parse_condition(text)


@settings(max_examples=60, deadline=None)
@given(value=st.text(alphabet=st.characters(codec="latin-1", exclude_characters="\\\x00"), max_size=12).map(str.strip),
       argument=st.text(alphabet=st.characters(codec="latin-1", exclude_characters="\x00"), max_size=6))
def test_string_methods_agree_with_their_definition(value: str, argument: str) -> None:
    """equals/contains/startsWith/endsWith hold exactly when the Python string relation does, quotes escaped."""
    ds = Dataset()
    ds.SeriesDescription = value
    quoted = argument.replace("\\", "\\\\").replace('"', '\\"')
    expected = {
        "equals": value == argument,
        "contains": argument in value,
        "startsWith": value.startswith(argument),
        "endsWith": value.endswith(argument),
    }
    for method, holds in expected.items():
        assert parse_condition(f'SeriesDescription.{method}("{quoted}")').holds(ds) is holds


def test_library_rules_match_the_devices_they_describe() -> None:
    """A GE CT dose report header matches the GE dose-series rules, and an unrelated header matches none."""
    library = default_library()
    matching = library.matching(_ge_ct())
    assert [rule.rectangles[0].height for rule in matching] == [110, 25]
    assert library.matching(header(512, 512, Modality="MR", Manufacturer="SYNTHETIC")) == ()
