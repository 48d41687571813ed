"""The word trie the report labeller and the report-text de-identifier share: the longest word at every position."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings, strategies as st

from qms.text_trie import alternation

pytestmark = pytest.mark.verifies("QMS-REQ-230", "QMS-REQ-005")

words = st.lists(st.text(alphabet="ab .-", min_size=1, max_size=6), min_size=1, max_size=12, unique=True)


@settings(max_examples=60, deadline=None)
@given(words, st.text(alphabet="abAB .-", max_size=30), st.booleans())
def test_the_trie_matches_the_longest_word_as_a_sorted_alternation_does(words: list[str], text: str,
                                                                          ignore_case: bool) -> None:
    """The trie expression finds, at every position, the word a longest-first alternation finds (with or without case)."""
    flags = re.IGNORECASE if ignore_case else 0
    naive = "|".join(re.escape(w) for w in sorted(words, key=lambda w: (-len(w), w)))
    got = [m.span() for m in re.finditer(f"(?:{alternation(words)})", text, flags)]
    assert got == [m.span() for m in re.finditer(f"(?:{naive})", text, flags)]


def test_a_word_and_its_prefixes_share_one_branch() -> None:
    """Words with a common prefix are one branch whose ends are optional, so each prefix is tested once."""
    assert alternation(["pleural", "pleura", "pleural effusion"]) == r"pleura(?:l(?:\ effusion)?)?"
    assert alternation({"no", "not"}) == "not?"
