"""Fixtures of the traceability tests (pytester comes from the root conftest)."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def project_dir(tmp_path: Path) -> Path:
    """Where a test writes its device project."""
    return tmp_path / "device"
