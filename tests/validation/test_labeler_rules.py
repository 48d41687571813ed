"""The labeller's rules beyond NegEx's two cue directions: widened phrases, "?" and "versus", fields, clause ends.

Sentences are composed from finding names of test_labeler.py (a radiologist's words, not
the vocabulary's lists) and, for the widening rules, from the vocabulary's own predications.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings, strategies as st

from qms.validation.labeler import Status
from qms.validation.vocabulary import default_vocabulary
from tests.validation.test_labeler import LABELER, NAMES

pytestmark = pytest.mark.verifies("QMS-REQ-230")

findings = st.sampled_from(sorted(NAMES))
two_findings = st.lists(findings, min_size=2, max_size=2, unique=True)
VOCABULARY = default_vocabulary()
PREDICATIONS = sorted((f.id, p) for f in VOCABULARY.findings for p in f.mentions if re.search(r" (is|are) ", p))


def _cap(text: str) -> str:
    return text[0].upper() + text[1:]


def _pair(text: str, pair: list[str]) -> tuple[Status, Status]:
    """The labels of the two findings of `pair` in `text`."""
    status = LABELER.label(text).status
    return status[pair[0]], status[pair[1]]


@settings(max_examples=30, deadline=None)
@given(st.sampled_from(PREDICATIONS))
def test_a_predication_reads_without_its_copula_and_negated(case: tuple[str, str]) -> None:
    """"Heart is enlarged" also reads as "heart enlarged" (positive) and "heart not enlarged" (negative)."""
    finding, phrase = case
    subject, copula, predicate = re.match(r"(.+?) (is|are) (.+)", phrase).groups()  # type: ignore[union-attr]
    assert LABELER.label(f"{_cap(subject)} {predicate}.").status[finding] is Status.POSITIVE
    for text in (f"{_cap(subject)} not {predicate}.", f"The {subject} {copula} not {predicate}."):
        assert LABELER.label(text).status[finding] is Status.NEGATIVE, text


@pytest.mark.parametrize(("text", "expected"), [
    ("Heart is top-normal in size.", Status.NEGATIVE), ("Heart size high-normal.", Status.NEGATIVE),
    ("Heart borderline in size.", Status.UNCERTAIN), ("Heart size is borderline.", Status.UNCERTAIN),
    ("Heart normal in size.", Status.NEGATIVE),
])
def test_degrees_of_normal_in_a_normal_phrase(text: str, expected: Status) -> None:
    """A normal phrase with "top-normal" or "high-normal" is negative, with "borderline" uncertain, copula or not."""
    assert LABELER.label(text).status["cardiomegaly"] is expected


@settings(max_examples=30, deadline=None)
@given(two_findings)
def test_a_question_mark_before_a_word_hedges_it(pair: list[str]) -> None:
    """"A ?B", "A ? B" and "A (?B)" leave A positive and make B uncertain; "B?" closing a word is uncertain too."""
    a, b = (NAMES[f] for f in pair)
    for text in (f"{_cap(a)} ?{b}.", f"{_cap(a)} ? {b}.", f"{_cap(a)} (?{b})."):
        assert _pair(text, pair) == (Status.POSITIVE, Status.UNCERTAIN), text
    assert _pair(f"{_cap(a)}. {_cap(b)}? No change.", pair) == (Status.POSITIVE, Status.UNCERTAIN)


@settings(max_examples=30, deadline=None)
@given(two_findings)
def test_versus_makes_both_alternatives_uncertain(pair: list[str]) -> None:
    """"A versus B" and "A vs B" make both uncertain; a finding further back in the clause keeps its polarity."""
    a, b = (NAMES[f] for f in pair)
    for text in (f"Basal shadowing, {a} versus {b}.", f"{_cap(a)} vs {b}."):
        assert _pair(text, pair) == (Status.UNCERTAIN, Status.UNCERTAIN), text
    status = LABELER.label(f"{_cap(a)} with features of heart failure versus {b}.").status
    assert status[pair[0]] is Status.POSITIVE and status[pair[1]] is Status.UNCERTAIN


@settings(max_examples=30, deadline=None)
@given(findings, st.sampled_from([("none seen", Status.NEGATIVE), ("no", Status.NEGATIVE), ("absent", Status.NEGATIVE),
                                  ("not identified", Status.NEGATIVE), ("possible", Status.UNCERTAIN),
                                  ("present", Status.POSITIVE), ("small, left", Status.POSITIVE)]))
def test_a_field_takes_the_cue_of_its_value(finding: str, value: tuple[str, Status]) -> None:
    """"Pneumothorax: none seen." negates the field, "Effusion: possible" hedges it; a value naming a finding keeps it."""
    text = f"{_cap(NAMES[finding])}: {value[0]}"
    for report in (f"{text}.", text, f"Evaluate for {NAMES[finding]}: {value[0]}. Lungs clear."):
        assert LABELER.label(report).status[finding] is value[1], report
    status = LABELER.label(f"Question: {NAMES[finding]}. Answer: no.").status
    assert status[finding] is Status.POSITIVE  # a cue in the next field governs nothing of this one


@settings(max_examples=30, deadline=None)
@given(two_findings)
def test_a_post_cue_opening_its_clause_governs_forward(pair: list[str]) -> None:
    """"Resolved A." negates A; "A has resolved" still negates backwards; the scope ends with the sentence."""
    a, b = (NAMES[f] for f in pair)
    assert _pair(f"Resolved right {a}. {_cap(b)} is present.", pair) == (Status.NEGATIVE, Status.POSITIVE)
    assert _pair(f"{_cap(a)} has resolved. {_cap(b)}.", pair) == (Status.NEGATIVE, Status.POSITIVE)


@settings(max_examples=30, deadline=None)
@given(two_findings)
def test_and_before_a_new_clause_ends_a_negation(pair: list[str]) -> None:
    """"No A and the B" ends the negation at "and the"; "no A and B" (one noun phrase) still negates both."""
    a, b = (NAMES[f] for f in pair)
    assert _pair(f"No {a} and the {b} is noted.", pair) == (Status.NEGATIVE, Status.POSITIVE)
    assert _pair(f"No {a} and {b}.", pair) == (Status.NEGATIVE, Status.NEGATIVE)


def test_a_predication_after_a_negated_list_has_its_own_polarity() -> None:
    """"No effusion, heart is enlarged": the negation stops before a mention that is itself a predication."""
    status = LABELER.label("No effusion, heart is enlarged.").status
    assert status["pleural_effusion"] is Status.NEGATIVE and status["cardiomegaly"] is Status.POSITIVE
    assert LABELER.label("No heart is enlarged here.").status["cardiomegaly"] is Status.NEGATIVE
