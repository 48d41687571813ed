"""The detection goals on this repository's harder corpus (tests/deid_text/hard_corpus.py)."""

from __future__ import annotations

import pytest

from qms.deid.text import Deidentifier
from qms.deid.text.score import Annotated
from tests.deid_text import goals, hard_corpus

# Development looked at seeds 1, 7 and 8; these were first run by this test, after the detector was settled.
SEEDS = (11, 12)


@pytest.mark.parametrize("seed", SEEDS)
def test_goals_on_the_hard_corpus(deid: Deidentifier, seed: int) -> None:
    """Recall >= 0.99 overall and per type, ages over 89 at 1.0, precision >= 0.98, no clinical term damaged."""
    corpus = [Annotated.of(r) for r in hard_corpus.generate(seed, 120)]
    result = goals.measure(deid, corpus)
    assert not goals.shortfalls(result), result.to_json()


def test_hard_corpus_plants_every_listed_kind() -> None:
    """The corpus holds every kind the issue lists, and its offsets point at non-blank values."""
    reports = hard_corpus.generate(3, 60)
    kinds = {s.type.value for r in reports for s in r.spans}
    assert {"NAME", "DATE", "AGE", "UID", "MRN", "ACCESSION", "ADDRESS", "PHONE", "CITY", "ZIP"} <= kinds
    assert all(r.text[s.start:s.end].strip() for r in reports for s in r.spans)
    assert hard_corpus.generate(3, 5) == hard_corpus.generate(3, 5)
