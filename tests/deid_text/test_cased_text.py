"""Identifiers in all-lower-case and all-caps free text, as DICOM comments hold them (issue 19, held-out DICOM).

Each case is a failure a blind tester found with `qms deid dicom` on the held-out DICOM corpus
(tests/corpora/dicom_heldout.py): lower-case names, addresses and cut e-mails survived, and
ordinary upper-case words ("ORDERED BY", "OUTSIDE FILMS FROM") became surrogate names.
"""

from __future__ import annotations

import re

import pytest

from qms.deid.text import Deidentifier, Hints, PhiType, find_phi

pytestmark = pytest.mark.verifies("QMS-RC-003")


def _survivors(text: str, out: str, values: tuple[str, ...]) -> list[str]:
    """The planted values still in `out` as whole words, any case."""
    return [v for v in values if re.search(rf"(?<![\w']){re.escape(v)}(?![\w'])", out, re.IGNORECASE)]


@pytest.mark.parametrize(("text", "names"), [
    ("f/u ct ordered by marisol prendergast, md for pt papadopoulos thaddeus (4hqda3bbeq)",
     ("marisol", "prendergast", "papadopoulos", "thaddeus")),
    ("wife chloe whitcombe at bedside; ph 555-201-3344", ("chloe", "whitcombe")),
    ("hx per anneliese kaczmarek, md; call pt at 555-201-3344 re results", ("anneliese", "kaczmarek")),
    ("read by june nwachukwu, md", ("june", "nwachukwu")),
    ("pt papadopoulos, thaddeus here for f/u", ("papadopoulos", "thaddeus")),
    ("insurance id ins-393399-y; pt mr./ms. thistlewood", ("thistlewood",)),
    ("insurance id ins-601112-z; pt margarethe n mbeki-long", ("margarethe", "mbeki-long")),
    ("prior films: pemberton^siobhan^d and o'shaughnessy^wilhelmina^s", ("pemberton", "siobhan", "o'shaughnessy",
                                                                        "wilhelmina")),
])
def test_lower_case_names_after_a_cue_are_replaced_whole(deid: Deidentifier, text: str, names: tuple[str, ...]) -> None:
    """A lower-case name after a cue (ordered by, pt, wife, per, a title, a credential after it) or written
    `surname^given` goes whole: no part of it, first name or surname, is left."""
    out = deid.deidentify(text, "P1").text
    assert _survivors(text, out, names) == []


def test_hinted_names_are_found_in_any_case(deid: Deidentifier) -> None:
    """A file's own PatientName, given as a hint, is found in lower case where no cue announces it."""
    hints = Hints(names=("VANDERMEER^OTTILIE^K",))
    out = deid.deidentify("vandermeer is a 97 y/o with hx chf; ottilie tolerated the exam", "P1", hints).text
    assert _survivors("", out, ("vandermeer", "ottilie")) == []
    assert "tolerated the exam" in out


def test_a_hinted_given_name_that_is_a_word_goes_beside_the_surname(deid: Deidentifier) -> None:
    """A hinted given name that is also a word ("hope") is replaced where it stands beside the hinted surname."""
    hints = Hints(names=("HAVERFORD^HOPE^L",))
    for text in ("93-year-old female, haverford hope, born 1930", "pt haverford, hope l. dob 1930"):
        out = deid.deidentify(text, "P1", hints).text
        assert _survivors(text, out, ("haverford", "hope")) == [], out


@pytest.mark.parametrize("text", ["pt young dob 2001-04-16 mrn mr-93001-27", "insurance id ins-991940-y; pt r. young"])
def test_a_hinted_surname_that_is_a_word_goes_after_a_cue(deid: Deidentifier, text: str) -> None:
    """A hinted surname that is also a word ("young") is replaced after "pt", a title or an initial, or before
    an id."""
    out = deid.deidentify(text, "P1", Hints(names=("YOUNG^RAFFERTY^P",))).text
    assert _survivors(text, out, ("young",)) == [], out


def test_a_hinted_name_that_is_a_word_stays_a_word_in_lower_case() -> None:
    """A hinted surname that is an everyday word ("Long") is not replaced where lower-case prose uses the word."""
    spans = find_phi("long segment stenosis; seen by dr. long", Hints(names=("LONG^JANE",)))
    assert [s.kind for s in spans if s.start == 0] == []


@pytest.mark.parametrize(("text", "values", "kept"), [
    ("home address 1279 tannery st, #94, bemidji, mn 66634 per registration", ("1279 tannery st", "bemidji", "66634"),
     "per registration"),
    ("home address 7519 cedarbrook ave, suite 321, pocatello, id 96898 per registration",
     ("7519 cedarbrook ave", "pocatello", "96898"), "per registration"),
    ("home address 6627 cedarbrook ave, suite 509, natchitoches, la 23", ("6627 cedarbrook ave", "natchitoches"),
     "home address"),
])
def test_lower_case_addresses_are_replaced(deid: Deidentifier, text: str, values: tuple[str, ...], kept: str) -> None:
    """A lower-case street address with its unit, city, state and zip (cut short with its 64-character value, too)
    goes; the words around it stay."""
    out = deid.deidentify(text, "P1").text
    assert _survivors(text, out, values) == [] and kept in out


@pytest.mark.parametrize(("text", "address"), [
    ("ssn 123-45-6789 on file; email ppapadopoulos53@protonmail", "ppapadopoulos53@protonmail"),
    ("SSN 123-45-6789 ON FILE; EMAIL EMBEKILONG20@PROTONMA", "EMBEKILONG20@PROTONMA"),
])
def test_an_email_cut_before_its_domain_ends_is_an_email(text: str, address: str) -> None:
    """An `@` between word characters is an e-mail address whether or not a top-level domain follows."""
    spans = [s for s in find_phi(text) if s.kind is PhiType.EMAIL]
    assert [s.text(text) for s in spans] == [address]


@pytest.mark.parametrize(("text", "kept", "gone"), [
    ("F/U CT ORDERED BY DR. MOREAU-BLANC FOR PT ZIELINSKI^THADDEUS^J (0009389917)", ("F/U CT ORDERED BY DR.", "FOR PT"),
     ("MOREAU-BLANC", "ZIELINSKI")),
    ("f/u CT ordered by FAIRBROTHER^CORNELIUS for pt Zielinski^Thaddeus^J (0009389917)",
     ("f/u CT ordered by", "for pt"), ("FAIRBROTHER", "Zielinski")),
    ("OUTSIDE FILMS FROM THISTLEWOOD MEMORIAL HOSPITAL MRN#BW810082", ("OUTSIDE FILMS FROM",), ("THISTLEWOOD",)),
    ("OUTSIDE FILMS FROM QUARRY HOLLOW IMAGING ASSOCIATES MRN#MR-20110-83", ("OUTSIDE FILMS FROM",), ("QUARRY",)),
    ("HX PER PRIYANKA NWACHUKWU, MD; CALL PT AT 555-201-3344 RE RESULTS", ("HX PER", "CALL PT AT", "RE RESULTS"),
     ("PRIYANKA", "NWACHUKWU")),
    ("HOME ADDRESS 1279 TANNERY ST, #94, BEMIDJI, MN 66634 PER REGISTRATION", ("HOME ADDRESS", "PER REGISTRATION"),
     ("TANNERY", "BEMIDJI")),
])
def test_upper_case_clinical_words_are_kept(deid: Deidentifier, text: str, kept: tuple[str, ...],
                                            gone: tuple[str, ...]) -> None:
    """Ordinary upper-case words before or after a name or a facility stay as written; the identifiers go."""
    out = deid.deidentify(text, "P1").text
    assert [k for k in kept if k not in out] == []
    assert _survivors(text, out, gone) == []
