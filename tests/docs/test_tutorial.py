"""docs/tutorial.md runs as written: every shell block, in order, from an empty folder to a verified bundle."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.docs.tutorial import run_tutorial

pytestmark = pytest.mark.slow  # trains a small model and signs a release: about a minute of tool time


def test_the_tutorial_runs_from_an_empty_folder_to_a_verified_bundle(tmp_path: Path) -> None:
    """Every command succeeds; the first gate names what is left, the last passes, and the signed bundle verifies."""
    run = run_tutorial(tmp_path)
    assert run.returncode == 0, run.output[-4000:]
    first, _, last = run.output.partition("qms verify: findings to close")
    assert "0 blocking gaps" in first and re.search(r"FAIL: [1-9][0-9]* finding", first)
    assert "PASS: may ship" in last
    assert re.search(r"bundle 0\.1\.0-bundle\.zip: release 0\.1\.0, [0-9]+ files, verified", last), last[-3000:]
