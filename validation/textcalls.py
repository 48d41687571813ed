"""A report generator's predictions: the finding calls of the reports it wrote, read from the text table.

A generator has no per-label probabilities, so a validation run of a `report_generation`
protocol does not score images with it. Its predictions for the run's record (and any image
endpoint the protocol also states) are what its reports say: for each manifest case, 1.0 where
the labeler reads the protocol's label as positive in the generated report (uncertain as the
section's `uncertain` states), else 0.0. A case without a generated report is a failure of
the run's cohort, like an image the model could not read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from qms.errors import QmsError
from qms.hashing import sha256_file
from qms.validation.labeler import Labeler, Status
from qms.validation.manifest import DatasetManifest
from qms.validation.report_evaluation import read_vocabulary_of
from qms.validation.report_generation import ReportGenerationSpec, UncertainAs
from qms.validation.textpredictions import read_text_predictions

__all__ = ["TextCalls", "generated_calls"]


@dataclass(frozen=True)
class TextCalls:
    """`qms.validation.predictions.Predictions` of a generator: 0/1 finding calls, and the cases it wrote nothing for."""

    labels: tuple[str, ...]
    probabilities: NDArray[np.float64]
    failures: dict[int, str]
    environment: dict[str, Any] = field(default_factory=dict)


def generated_calls(spec: ReportGenerationSpec, root: Path, manifest: DatasetManifest, labels: tuple[str, ...]) -> TextCalls:
    """The calls of each manifest case's generated report (rows matched by case_id = the manifest file)."""
    vocabulary, _ = read_vocabulary_of(spec, root)
    unknown = sorted(set(labels) - set(vocabulary.ids))
    if unknown:
        raise QmsError(f"label(s) {', '.join(unknown)} of the protocol are not findings of the vocabulary "
                       f"{vocabulary.source}: a generator's reports cannot be read for them",
                       where=spec.where.get("section"), hint=", ".join(vocabulary.ids))
    table = read_text_predictions(root / spec.predictions)
    row_of = {case: i for i, case in enumerate(table.case_ids)}
    labeler = Labeler(vocabulary)
    positive = {Status.POSITIVE, Status.UNCERTAIN} if spec.uncertain is UncertainAs.POSITIVE else {Status.POSITIVE}
    scores = np.full((len(manifest.entries), len(labels)), np.nan)
    failures: dict[int, str] = {}
    for i, entry in enumerate(manifest.entries):
        row = row_of.get(entry.file)
        if row is None:
            failures[i] = f"no generated report in {spec.predictions}"
            continue
        status = labeler.label(table.generated[row]).status
        scores[i] = [1.0 if status[label] in positive else 0.0 for label in labels]
    return TextCalls(labels, scores, failures, {
        "device": "none (the generated reports were written before the run)",
        "generated_reports": {"path": spec.predictions, "sha256": sha256_file(root / spec.predictions)}})
