"""A damaged store is reported as damaged by every command that vouches for it; a file that is no store says so plainly."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from qms import audit
from qms.cli.main import app
from qms.config import load_project
from qms.gate.checks.audit import AuditTrailIntact
from qms.gate.context import GateContext
from qms.release_plan import load_plan
from qms.store import Store, open_store
from qms.store.integrity import check_integrity

runner = CliRunner()
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "cxr-triage"


def _qms(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args), env={"QMS_DATABASE_URL": ""})
    return result.exit_code, result.output


def _damage_an_index(db: Path) -> None:
    """Zero the cell area of the audit trail's object index: the rows stay readable, the index loses entries."""
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    root, = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = 'ix_audit_event_object'").fetchone()
    size, = conn.execute("PRAGMA page_size").fetchone()
    conn.close()
    with db.open("r+b") as f:
        f.seek(root * size - 200)
        f.write(bytes(150))


@pytest.fixture
def damaged(tmp_path: Path) -> Path:
    root = tmp_path / "proj"
    shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns(".qms", "out", "data", "__pycache__"))
    store = open_store(load_project(root).database_url())
    for n in range(200):
        audit.record(store, audit.EventSpec("test.engineer", "test.event", f"object:{n}"))
    store.dispose()
    _damage_an_index(root / ".qms" / "qms.db")
    return root


def test_a_damaged_index_fails_audit_verify_store_info_and_the_gate(damaged: Path) -> None:
    """A page SQLite's integrity check rejects makes `audit verify` and `store info` exit 1 and the gate's audit criterion fail."""
    code, out = _qms("-C", str(damaged), "audit", "verify")
    assert code == 1 and "the database is damaged" in out, out
    code, out = _qms("-C", str(damaged), "store", "info")
    assert code == 1 and "integrity: damaged" in out
    project = load_project(damaged)
    store = open_store(project.database_url())
    try:
        outcome = AuditTrailIntact().evaluate(GateContext(project, store, load_plan(project)))
    finally:
        store.dispose()
    assert not outcome.passed and any("the database is damaged" in f.reason for f in outcome.findings)


def test_a_sound_store_has_no_integrity_findings(store: Store) -> None:
    """A freshly written store passes the database's own check, on SQLite and PostgreSQL."""
    audit.record(store, audit.EventSpec("test.engineer", "test.event", "object:1"))
    assert check_integrity(store) == ()


def test_a_file_that_is_no_database_is_a_plain_diagnosis(tmp_path: Path) -> None:
    """A garbage store file is a usage error saying the store cannot be read, without driver statements or links."""
    code, out = _qms("-C", str(tmp_path / "proj"), "init")
    assert code == 0, out
    (tmp_path / "proj" / ".qms" / "qms.db").write_bytes(b"not a database " * 40)
    code, out = _qms("-C", str(tmp_path / "proj"), "audit", "verify")
    assert code == 2 and "the store cannot be read: file is not a database" in out
    assert "sqlalche.me" not in out and "[SQL" not in out and "restore it from your backup" in out
