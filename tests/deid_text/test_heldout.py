"""The detection goals on the independent held-out corpus (tests/corpora/reports_heldout.py), fresh seeds.

That generator was written by someone who did not read the detector; its templates are not
read here either. Development looked at seeds 1 to 10 (figures and a few misses, as its README
allows for development seeds) and at 880301/2, 777001 (figures); the seeds below were first run
by this test, after the detector was settled.
"""

from __future__ import annotations

import pytest

from qms.deid.text import Deidentifier
from qms.deid.text.score import Annotated
from tests.deid_text import goals

heldout = pytest.importorskip("tests.corpora.reports_heldout")

SEEDS = (990701, 990702)
REPORTS = 120


def corpus(seed: int, n: int) -> list[Annotated]:
    """The held-out cases as scored texts: planted spans with their kinds, the clinical terms they must keep."""
    return [Annotated(c.text, c.patient_key, tuple((s.start, s.end, s.kind) for s in c.spans), tuple(c.clinical_terms))
            for c in heldout.generate(seed, n)]


@pytest.mark.parametrize("seed", SEEDS)
def test_goals_on_the_heldout_corpus(deid: Deidentifier, seed: int) -> None:
    """Recall >= 0.99 overall and per type, ages over 89 at 1.0, precision >= 0.98, no clinical term damaged."""
    result = goals.measure(deid, corpus(seed, REPORTS))
    assert not goals.shortfalls(result), result.to_json()
