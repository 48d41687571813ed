"""Score a detector on an annotated corpus: recall and precision per PHI type, leaks, damage.

A planted identifier counts as found only when every letter and digit of it is covered
by found spans (a half-hidden name is a leak). A found span is correct when it overlaps a
planted one. A leak is a planted value still present, word for word, in the output; a
damaged term is a clinical term of the list that occurs fewer times after than before.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from qms.deid.text import detect
from qms.deid.text.phi import PhiType
from qms.deid.text.synth import AnnotatedReport

Detector = Callable[[AnnotatedReport], tuple[list[tuple[int, int, str]], str]]
"""A detector under test: for a report, its found (start, end, type) spans and its output text."""


@dataclass
class Score:
    planted: Counter[str] = field(default_factory=Counter)
    found: Counter[str] = field(default_factory=Counter)
    reported: int = 0
    reported_correct: int = 0
    leaks: Counter[str] = field(default_factory=Counter)
    damaged_terms: Counter[str] = field(default_factory=Counter)
    reports: int = 0

    def recall(self, phi_type: str | None = None) -> float:
        planted = self.planted[phi_type] if phi_type else sum(self.planted.values())
        found = self.found[phi_type] if phi_type else sum(self.found.values())
        return found / planted if planted else 1.0

    @property
    def precision(self) -> float:
        return self.reported_correct / self.reported if self.reported else 1.0

    def to_json(self) -> dict[str, Any]:
        return {
            "reports": self.reports, "recall": round(self.recall(), 4), "precision": round(self.precision, 4),
            "recall_by_type": {t: round(self.recall(t), 4) for t in sorted(self.planted)},
            "planted_by_type": dict(sorted(self.planted.items())),
            "verbatim_leaks": sum(self.leaks.values()), "leaks_by_type": dict(sorted(self.leaks.items())),
            "damaged_clinical_terms": sum(self.damaged_terms.values()),
        }


def _covered(start: int, end: int, text: str, spans: list[tuple[int, int, str]]) -> bool:
    mask = [False] * (end - start)
    for s, e, _ in spans:
        for i in range(max(s, start), min(e, end)):
            mask[i - start] = True
    return all(mask[i - start] or not text[i].isalnum() for i in range(start, end))


def _term_counts(text: str, inside: Iterable[tuple[int, int]] = ()) -> Counter[str]:
    """Clinical terms in `text`, less those inside identifiers (a "Colon" that is a surname)."""
    spans = list(inside)
    return Counter(text[s:e].lower() for s, e in detect.protected(text) if not any(s < b and a < e for a, b in spans))


def score(corpus: Iterable[AnnotatedReport], detector: Detector) -> Score:
    result = Score()
    for report in corpus:
        result.reports += 1
        spans, output = detector(report)
        for gold in report.spans:
            result.planted[gold.type] += 1
            if _covered(gold.start, gold.end, report.text, spans):
                result.found[gold.type] += 1
            value = report.text[gold.start:gold.end]
            if gold.type is not PhiType.AGE and re.search(rf"(?<!\w){re.escape(value)}(?!\w)", output):
                result.leaks[gold.type] += 1
        for s, e, _ in spans:
            result.reported += 1
            result.reported_correct += any(s < g.end and g.start < e for g in report.spans)
        before, after = _term_counts(report.text, ((g.start, g.end) for g in report.spans)), _term_counts(output)
        for term, n in before.items():
            if after[term] < n:
                result.damaged_terms[term] += n - after[term]
    return result
