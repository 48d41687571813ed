"""Clinical meaning survives: no term of the kept list is replaced, even next to identifiers."""

from __future__ import annotations

import pytest

from qms.deid.text import Deidentifier
from qms.deid.text.lexicon import clinical_terms

_CONTEXTS = (
    "Discussed with Dr. Mary Holmes on 03/04/2021: {term} is noted. Signed by: John Q. Public, MD",
    "{term}. Electronically signed by: Harold Finch, MD on March 4, 2021",
    "Patient: DOE, JANE  MRN: 0012345\nFINDINGS: {term} again seen, compared with 4 Mar 2020.",
)


@pytest.mark.parametrize("context", _CONTEXTS)
def test_every_listed_term_survives(deid: Deidentifier, context: str) -> None:
    """Each entry of deid/data/text_clinical_terms.tsv is in the output exactly as written."""
    damaged = []
    for entry in clinical_terms():
        out = deid.deidentify(context.format(term=entry.term), "P1").text
        if entry.term not in out:
            damaged.append(f"{entry.category}: {entry.term!r} -> {out!r}")
    assert not damaged, "\n".join(damaged[:20])


def test_list_covers_the_named_eponyms() -> None:
    """The list holds every eponym the issue names, and all six categories."""
    terms = {t.term for t in clinical_terms()}
    assert {"Parkinson disease", "Hodgkin lymphoma", "Foley catheter", "Bankart lesion", "Kerley B lines",
            "Hampton hump", "Westermark sign", "Chiari malformation"} <= terms
    assert {t.category for t in clinical_terms()} == {"eponym", "device", "medication", "anatomy", "laterality",
                                                       "measurement"}


def test_eponym_kept_while_the_same_surname_as_a_name_goes(deid: Deidentifier) -> None:
    """'Dr. Parkinson' is replaced while 'Parkinson disease' and 'Foley catheter' stay."""
    out = deid.deidentify("Known Parkinson disease. Foley catheter. Discussed with Dr. Parkinson and Dr. Foley.",
                          "P1").text
    assert "Parkinson disease" in out and "Foley catheter" in out
    assert "Dr. Parkinson" not in out and "Dr. Foley" not in out
