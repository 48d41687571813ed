"""The detection goal of the report-text issue, measured on a held-out synthetic corpus."""

from __future__ import annotations

import pytest

from qms.deid.text import Deidentifier, PhiType
from qms.deid.text import score, synth
from qms.deid.text.score import Annotated

# Development used seeds 0 and 1. Seed 20261201 was the first held-out seed; once its misses had been
# read it was retired, and this one, never looked at before this test first ran, replaced it.
HELD_OUT_SEED = 77001
REPORTS = 250


@pytest.fixture(scope="module")
def result(deid: Deidentifier) -> score.Score:
    def detector(report: Annotated) -> tuple[list[tuple[int, int, str]], str]:
        out = deid.deidentify(report.text, report.patient_id)
        return [(s.start, s.end, s.kind.value) for s in out.spans], out.text
    return score.score(synth.generate(HELD_OUT_SEED, REPORTS), detector)


def test_overall_recall(result: score.Score) -> None:
    """At least 99 % of all planted identifiers are found, every character of each."""
    assert result.recall() >= 0.99, result.to_json()


@pytest.mark.parametrize("phi_type", [PhiType.NAME, PhiType.DATE])
def test_names_and_dates_recall(result: score.Score, phi_type: PhiType) -> None:
    """At least 99.5 % of planted names and of planted dates are found."""
    assert result.recall(phi_type) >= 0.995, result.to_json()


def test_precision(result: score.Score) -> None:
    """At least 90 % of what the detector replaces is an identifier."""
    assert result.precision >= 0.9, result.to_json()


def test_no_clinical_term_damaged(result: score.Score) -> None:
    """No eponym, anatomy, device, medication, laterality or measurement term of the list is lost."""
    assert sum(result.damaged_terms.values()) == 0, result.damaged_terms


def test_verbatim_leaks_are_rare(result: score.Score) -> None:
    """At most 1 in 200 planted values survives word for word in the output."""
    assert sum(result.leaks.values()) <= sum(result.planted.values()) / 200, result.to_json()


def test_corpus_is_reproducible() -> None:
    """The same seed generates the same corpus, offsets and all; another seed another one."""
    assert synth.generate(7, 5) == synth.generate(7, 5)
    assert synth.generate(7, 5) != synth.generate(8, 5)


def test_gold_offsets_point_at_their_values() -> None:
    """Every planted span lies inside its report and holds a non-blank value."""
    for report in synth.generate(3, 40):
        for span in report.spans:
            assert 0 <= span.start < span.end <= len(report.text)
            assert report.text[span.start:span.end].strip()
