"""The checks a release is judged on: an omitted critical finding or a contradicted side is flagged (RC-001)."""

from __future__ import annotations

import numpy as np
import pytest

from generate import report
from qms.validation.labeler import Labeler
from qms.validation.textsafety import SafetyCheck, flags
from qms.validation.vocabulary import default_vocabulary


@pytest.mark.verifies("RC-001")
def test_an_omitted_pneumothorax_and_a_wrong_side_are_flagged() -> None:
    """Drafts of the project's report templates: one faithful, one omitting the pneumothorax, one on the wrong side."""
    vocabulary = default_vocabulary()
    labeler = Labeler(vocabulary)
    findings = {"pneumothorax": 1, "pleural_effusion": 0, "cardiomegaly": 0}
    reference = [report(findings, "left")] * 3
    drafts = [report(findings, "left"), report({**findings, "pneumothorax": 0}, "left"), report(findings, "right")]
    out = flags(drafts, labeler.label_many(drafts), labeler.label_many(reference), np.zeros(3, dtype=np.bool_),
                vocabulary, ["pneumothorax"])
    assert out[SafetyCheck.CRITICAL].flagged.tolist() == [False, True, False]
    assert out[SafetyCheck.LATERALITY].flagged.tolist() == [False, False, True]
