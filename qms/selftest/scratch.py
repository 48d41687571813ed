"""A scratch record store on the user's backend, for OQ checks: never the user's own records.

SQLite: a fresh file in the check's workspace. PostgreSQL: a fresh database on the user's
server (the user's role needs CREATEDB), dropped afterwards. The OQ so exercises the driver,
server and migrations the user's store runs on, without appending test records to it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, make_url, text
from sqlalchemy.exc import SQLAlchemyError

from qms.errors import StoreError
from qms.store import Store, open_store

__all__ = ["scratch_store"]


@contextmanager
def scratch_store(user_url: str | None, workspace: Path) -> Iterator[Store]:
    """A migrated, empty store on the backend of `user_url` (SQLite in `workspace` when None or SQLite)."""
    url = make_url(user_url) if user_url else None
    if url is None or url.get_backend_name() == "sqlite":
        store = open_store(f"sqlite:///{workspace / 'selftest.db'}")
        try:
            yield store
        finally:
            store.dispose()
        return
    name = f"qms_selftest_{uuid.uuid4().hex[:12]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except SQLAlchemyError as exc:
        admin.dispose()
        raise StoreError(f"cannot create a scratch database on the store's server: {type(exc).__name__}",
                         where=url.render_as_string(hide_password=True),
                         hint="the OQ needs a role that may CREATE DATABASE on the store's server") from exc
    store = open_store(url.set(database=name).render_as_string(hide_password=False))
    try:
        yield store
    finally:
        store.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
