"""Shared fixtures: record stores on SQLite and on the machine's real PostgreSQL.

PostgreSQL tests use a fresh database each; on a machine without a server they skip
with the reason, except under CI (CI=true), where a missing server is a failure.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from qms.store import Store, open_store

pytest_plugins = ["pytester"]  # real pytest sessions for plugin tests (only allowed in the root conftest)

POSTGRES_ADMIN_URL = os.environ.get("QMS_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def _postgres_unavailable() -> str | None:
    try:
        engine = create_engine(POSTGRES_ADMIN_URL, connect_args={"connect_timeout": 3})
        with engine.connect():
            pass
        engine.dispose()
    except OperationalError as exc:
        return f"PostgreSQL not reachable at {make_url(POSTGRES_ADMIN_URL).render_as_string()}: {str(exc.orig).strip()}"
    return None


_PG_REASON = _postgres_unavailable()


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database, dropped after the test."""
    if _PG_REASON:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI needs PostgreSQL: {_PG_REASON}")
        pytest.skip(_PG_REASON)
    name = f"qms_t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'qms.db'}"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest) -> str:
    """Each store test runs once on SQLite and once on PostgreSQL."""
    fixture = "sqlite_url" if request.param == "sqlite" else "postgres_url"
    return str(request.getfixturevalue(fixture))


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    s = open_store(store_url)
    yield s
    s.dispose()


@pytest.fixture(autouse=True)
def _isolated_qms_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test touches the real user's keys or identities."""
    monkeypatch.setenv("QMS_HOME", str(tmp_path_factory.mktemp("qms_home")))
    monkeypatch.setenv("QMS_USER", "test.engineer")
    monkeypatch.delenv("QMS_DATABASE_URL", raising=False)
