"""The detection goals of issue #19 and a scorer for them, shared by the corpus tests."""

from __future__ import annotations

from collections.abc import Iterable

from qms.deid.text import Deidentifier, score
from qms.deid.text.score import Annotated

RECALL = 0.99  # overall and for every PHI type
PRECISION = 0.98


def measure(deid: Deidentifier, corpus: Iterable[Annotated]) -> score.Score:
    """Score the de-identifier on an annotated corpus: its spans and its output text."""
    def detector(report: Annotated) -> tuple[list[tuple[int, int, str]], str]:
        out = deid.deidentify(report.text, report.patient_id)
        return [(s.start, s.end, s.kind.value) for s in out.spans], out.text
    return score.score(corpus, detector)


def shortfalls(result: score.Score) -> list[str]:
    """Each goal the result misses, with its figure; empty when every goal is met."""
    missed = [f"recall {result.recall():.4f}"] if result.recall() < RECALL else []
    missed += [f"recall of {kind} {result.recall(kind):.4f}" for kind in sorted(result.planted)
               if result.recall(kind) < RECALL]
    missed += [f"recall of {kind} {result.recall(kind):.4f} (ages over 89: 1.0)" for kind in result.planted
               if "AGE" in kind and result.recall(kind) < 1.0]
    missed += [f"precision {result.precision:.4f}"] if result.precision < PRECISION else []
    missed += [f"clinical terms damaged: {dict(result.damaged_terms)}"] if result.damaged_terms else []
    return missed
