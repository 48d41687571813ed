"""Score a detector on an annotated corpus: recall and precision per PHI type, leaks, damage.

A planted identifier counts as found only when every letter and digit of it is covered
by found spans (a half-hidden name is a leak). A found span is correct when it overlaps a
planted one. A leak is a planted value still present, word for word, in the output; a
damaged term is a clinical term (of the list, or named by the corpus) that occurs fewer
times after than before. Any annotated corpus is scored once it is put as `Annotated`.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from qms.deid.text import detect
from qms.deid.text.synth import AnnotatedReport

__all__ = ["Annotated", "Detector", "Score", "score"]


@dataclass(frozen=True)
class Annotated:
    """A text, its patient, its planted identifiers as (start, end, kind), and clinical terms it must keep."""

    text: str
    patient_id: str
    spans: tuple[tuple[int, int, str], ...]
    clinical_terms: tuple[str, ...] = ()

    @classmethod
    def of(cls, report: AnnotatedReport) -> Annotated:
        return cls(report.text, report.patient_id, tuple((g.start, g.end, g.type.value) for g in report.spans))


Detector = Callable[[Annotated], tuple[list[tuple[int, int, str]], str]]
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


def _named_terms(text: str, terms: Iterable[str], inside: Iterable[tuple[int, int]] = ()) -> Counter[str]:
    """Occurrences of the corpus's own clinical terms, less those inside identifiers."""
    spans = list(inside)
    counts: Counter[str] = Counter()
    for term in set(terms):
        for m in re.finditer(rf"(?<!\w){re.escape(term)}(?!\w)", text, re.I):
            if not any(m.start() < b and a < m.end() for a, b in spans):
                counts[term.lower()] += 1
    return counts


def score(corpus: Iterable[Annotated | AnnotatedReport], detector: Detector) -> Score:
    result = Score()
    for item in corpus:
        report = item if isinstance(item, Annotated) else Annotated.of(item)
        result.reports += 1
        spans, output = detector(report)
        for start, end, kind in report.spans:
            result.planted[kind] += 1
            if _covered(start, end, report.text, spans):
                result.found[kind] += 1
            value = report.text[start:end]
            if "AGE" not in kind.upper() and re.search(rf"(?<!\w){re.escape(value)}(?!\w)", output):
                result.leaks[kind] += 1
        for s, e, _ in spans:
            result.reported += 1
            result.reported_correct += any(s < g_end and g_start < e for g_start, g_end, _ in report.spans)
        planted = [(g[0], g[1]) for g in report.spans]
        before = _term_counts(report.text, planted) + _named_terms(report.text, report.clinical_terms, planted)
        after = _term_counts(output) + _named_terms(output, report.clinical_terms)
        for term, n in before.items():
            if after[term] < n:
                result.damaged_terms[term] += n - after[term]
    return result
