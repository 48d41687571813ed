"""docs/tutorial.md runs as written: every shell block, in order, from an empty folder."""

from __future__ import annotations

import re
from pathlib import Path

from tests.docs.tutorial import run_tutorial


def test_the_tutorial_runs_from_an_empty_folder(tmp_path: Path) -> None:
    """Every command of the tutorial succeeds, its tests trace every requirement, and verify names what is left."""
    run = run_tutorial(tmp_path)
    assert run.returncode == 0, run.output[-4000:]
    assert "0 blocking gaps" in run.output and "qms verify: findings to close" in run.output
    assert re.search(r"FAIL: [1-9][0-9]* finding", run.output)  # model, protocols, signers, roster, deliverables
