"""Where given words and values occur in a text, in one pass over it (linear in the text's length).

Found values are looked for again everywhere in a report (the MRN of the header, again in
the footer). A regular expression per value, or an alternation of thousands of values, costs
the text's length once per value: quadratic on a long report. A word index costs it once.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Iterator

__all__ = ["WordIndex"]


class WordIndex:
    """The start offsets of every maximal run of `word` characters in a text, by the run's lower case."""

    def __init__(self, text: str, word: str = r"\w+") -> None:
        self.text = text
        self._starts: defaultdict[str, list[int]] = defaultdict(list)
        self._word = re.compile(word)
        for m in self._word.finditer(text):
            self._starts[m.group().lower()].append(m.start())

    def words(self, lowered: Iterable[str]) -> Iterator[tuple[int, int]]:
        """(start, end) of every whole-run occurrence of each word, any case."""
        for word in set(lowered):
            for start in self._starts.get(word, ()):
                yield start, start + len(word)

    def values(self, value: str) -> Iterator[int]:
        """Start offsets of `value`, same case, beginning and ending at a run's edge."""
        first = self._word.search(value)
        if first is None:
            return
        text, end_bound = self.text, len(self.text)
        for run_start in self._starts.get(first.group().lower(), ()):
            start = run_start - first.start()
            end = start + len(value)
            if (start >= 0 and end <= end_bound and text.startswith(value, start)
                    and (start == 0 or not text[start - 1].isalnum())
                    and (end == end_bound or not text[end].isalnum())):
                yield start
