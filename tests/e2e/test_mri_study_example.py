"""The multi-sequence MRI study example runs end to end at reduced size: data, de-identification, study
manifests, a model trained here, registration, a locked study-level protocol run that passes, the device's
own trace matrix without gaps, and a signed release whose bundle verifies."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.e2e.example_steps import assert_released, run_steps

pytestmark = [pytest.mark.slow, pytest.mark.verifies("QMS-REQ-217")]


def test_mri_study_example_end_to_end(tmp_path: Path) -> None:
    """Every step of examples/mri-study succeeds on 18 synthetic patients, the locked protocol passes, and release
    1.0.0 is signed by three people and verifies."""
    out = run_steps("mri-study", tmp_path, MRI_PATIENTS="18")
    card = json.loads((out / "model.json").read_text())["card"]
    assert card["study"]["sequences"] == ["T1", "T2", "FLAIR"]
    result = json.loads((out / "validation" / "VAL-STUDY-001.json").read_text())
    assert result["verdict"] == "pass"
    assert {e["id"] for e in result["endpoints"]} == {"MEAN-AUROC", "MASS-AUROC"}
    assert json.loads((out / "trace.json").read_text())["gaps"] == []
    assert_released(out, "mri-study-cnn@1.0.0")
