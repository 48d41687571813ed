"""Fixtures of the signing tests: a fresh organisation per test, one rendered PDF/A per session."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from qms.store import open_store
from tests.signing.orgkit import Org, make_org, render_pdfa


@pytest.fixture
def org(tmp_path: Path) -> Iterator[Org]:
    store = open_store(f"sqlite:///{tmp_path / 'qms.db'}")
    yield make_org(store, tmp_path / "home")
    store.dispose()


@pytest.fixture(scope="session")
def pdfa() -> bytes:
    """A two-page PDF/A-3b test report rendered by weasyprint."""
    return render_pdfa("<h1>Synthetic test report</h1><p>Zoë Müller reviewed nothing real.</p>"
                       "<p style='page-break-before: always'>Page two.</p>")
