"""The record store opens, migrates and refuses what it must, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from qms import audit
from qms.errors import StoreError
from qms.store import open_store
from qms.store.migrate import declared_heads, head_revisions, known_revisions

pytestmark = pytest.mark.verifies("QMS-RC-002")


def test_new_store_is_at_every_head(store_url: str) -> None:
    """A new store is created at the newest schema revision of every capability."""
    store = open_store(store_url)
    try:
        assert store.revisions() == head_revisions()
        assert len(store.store_id) == 32
    finally:
        store.dispose()


def test_declared_heads_are_alembics_heads() -> None:
    """The heads read from the scripts' lines (the fast check of every open) are the heads alembic computes."""
    assert declared_heads() == head_revisions()


def test_store_missing_a_head_is_migrated_again(store_url: str) -> None:
    """A store whose version rows lack one head is migrated on open, not taken as current."""
    store = open_store(store_url)
    with store.engine.begin() as conn:
        conn.execute(text("DELETE FROM alembic_version WHERE version_num = '0060_web_sessions'"))
        conn.execute(text("DROP TABLE web_session_mark"))
        conn.execute(text("DROP TABLE web_session"))
    store.dispose()
    store = open_store(store_url)
    try:
        assert store.revisions() == head_revisions() and store.migrated == {"0060_web_sessions"}
    finally:
        store.dispose()


def test_reopening_keeps_identity(store_url: str) -> None:
    """Opening a store twice migrates nothing and keeps the store's identity."""
    first = open_store(store_url)
    ident = first.store_id
    first.dispose()
    second = open_store(store_url)
    try:
        assert second.migrated == set()
        assert second.store_id == ident
    finally:
        second.dispose()


def test_records_are_append_only_in_the_database(store_url: str) -> None:
    """UPDATE and DELETE of audit events are refused by the database itself."""
    store = open_store(store_url)
    try:
        audit.record(store, audit.EventSpec("alice", "x.create", "x:1"))
        for sql in ("UPDATE audit_event SET actor = 'mallory'", "DELETE FROM audit_event"):
            with pytest.raises(DBAPIError, match="append-only"):
                with store.engine.begin() as conn:
                    conn.execute(text(sql))
        assert [e.actor for e in audit.log(store)] == ["alice"]
    finally:
        store.dispose()


def test_newer_schema_is_refused_and_untouched(store_url: str) -> None:
    """A store written by a newer qmskit is refused with a clear message and left as it was."""
    store = open_store(store_url)
    audit.record(store, audit.EventSpec("alice", "x.create", "x:1"))
    with store.engine.begin() as conn:
        conn.execute(text("INSERT INTO alembic_version (version_num) VALUES ('9999_from_the_future')"))
    store.dispose()
    with pytest.raises(StoreError) as caught:
        open_store(store_url)
    assert "newer qmskit" in caught.value.message and "9999_from_the_future" in caught.value.message
    from sqlalchemy import create_engine

    engine = create_engine(store_url.replace("postgresql://", "postgresql+psycopg://"))
    with engine.connect() as conn:
        versions = {r[0] for r in conn.execute(text("SELECT version_num FROM alembic_version"))}
        events = conn.execute(text("SELECT count(*) FROM audit_event")).scalar_one()
    engine.dispose()
    assert "9999_from_the_future" in versions and events == 1


def test_older_store_is_migrated(store_url: str) -> None:
    """A store at an older revision is brought to every head on open, keeping its records."""
    from alembic import command
    from sqlalchemy import create_engine

    from qms.store.migrate import _config

    engine = create_engine(store_url.replace("postgresql://", "postgresql+psycopg://"))
    cfg = _config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0001_foundation")
    engine.dispose()
    store = open_store(store_url)
    try:
        assert store.revisions() == head_revisions()
        assert store.migrated == head_revisions() - {"0001_foundation"}
        assert "0001_foundation" in known_revisions()
    finally:
        store.dispose()


def test_unreachable_database_is_a_clear_error() -> None:
    """An unreachable PostgreSQL URL fails with the redacted URL and a hint."""
    with pytest.raises(StoreError) as caught:
        open_store("postgresql+psycopg://someone:secret@127.0.0.1:1/nothing")
    assert "cannot reach the database" in caught.value.message
    assert caught.value.where is not None and "secret" not in caught.value.where


def test_missing_sqlite_store_is_not_created_for_reading(tmp_path: Path) -> None:
    """Opening a missing SQLite store read-only fails and creates nothing."""
    db = tmp_path / "sub" / "qms.db"
    with pytest.raises(StoreError, match="no record store"):
        open_store(f"sqlite:///{db}", create=False)
    assert not db.exists() and not db.parent.exists()


@pytest.mark.parametrize("url", ["mysql://h/db", "not a url"])
def test_unsupported_url(url: str) -> None:
    """A URL of another database, or no URL at all, is refused."""
    with pytest.raises(StoreError):
        open_store(url)
