"""The example projects share their release step (examples/common) instead of each writing it again."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
RELEASE_STEPS = sorted(EXAMPLES.glob("*/demo.d/70-release.sh"))


def test_every_example_has_a_release_step() -> None:
    """cxr-triage, mri-study and report-gen each end with a release step."""
    assert {p.parents[1].name for p in RELEASE_STEPS} >= {"cxr-triage", "mri-study", "report-gen"}


@pytest.mark.parametrize("step", RELEASE_STEPS, ids=lambda p: p.parents[1].name)
def test_an_examples_release_step_sources_the_shared_one_and_signs_nothing_itself(step: Path) -> None:
    """Each example's 70-release.sh sources ../../common/release.sh and runs no gate, release or signature of its own."""
    text = step.read_text(encoding="utf-8")
    assert '. "$(dirname "${BASH_SOURCE[0]}")/../../common/release.sh"' in text
    commands = [line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    assert not [c for c in commands if re.search(r"\bqms (verify|release|bundle verify|ca crl)\b", c)], commands
