"""Fixtures of the signing tests: a fresh organisation per test, one rendered PDF/A per session."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from qms.cli.main import app
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


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project made by `qms init`, with an organisation CA and two identities enrolled through the CLI."""
    runner = CliRunner()
    monkeypatch.chdir(tmp_path)
    assert runner.invoke(app, ["init", "--device", "Synthetic device"]).exit_code == 0
    monkeypatch.setenv("QMS_CA_PASSPHRASE", "ca-passphrase-1")
    assert runner.invoke(app, ["ca", "init", "--organisation", "Example Devices Ltd"]).exit_code == 0
    for uid, name, role in (("alice", "Alice Author", "engineer"), ("ci", "CI pipeline", "service")):
        monkeypatch.setenv("QMS_NEW_PASSPHRASE", f"{uid}-passphrase")
        result = runner.invoke(app, ["user", "add", uid, "--name", name, "--role", role])
        assert result.exit_code == 0, result.output
    monkeypatch.delenv("QMS_NEW_PASSPHRASE")
    monkeypatch.delenv("QMS_CA_PASSPHRASE")
    return tmp_path
