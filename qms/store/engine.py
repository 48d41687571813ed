"""Opening a store: connect, check the schema revision, migrate an older one, lock writers."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import ArgumentError, DatabaseError, OperationalError, SQLAlchemyError
from sqlmodel import Session, SQLModel, select

from qms.errors import StoreError
from qms.store.migrate import current_revisions, declared_heads, known_revisions, upgrade
from qms.store.records import StoreInfo, utcnow

__all__ = ["Store", "open_store"]

T = TypeVar("T", bound=SQLModel)

_PG_WRITE_LOCK = 0x716D73  # "qms": one advisory lock serialises every writer of a store
_SQLITE_BUSY_MS = 120_000


def _redact(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<unparseable URL>"


def _sqlite_engine(url: str) -> Engine:
    engine = create_engine(url, connect_args={"timeout": _SQLITE_BUSY_MS / 1000})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves, below
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA busy_timeout = {_SQLITE_BUSY_MS}")
        cur.execute("PRAGMA journal_mode = WAL")
        cur.execute("PRAGMA foreign_keys = ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # IMMEDIATE takes the write lock at the start, so two writers never read the same head.
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


class Store:
    """A migrated, open record store. Writers go through `transaction()`."""

    def __init__(self, engine: Engine, url: str, migrated: set[str]) -> None:
        self.engine = engine
        self.url = url
        self.migrated = migrated
        self.is_sqlite = engine.dialect.name == "sqlite"
        self.checkpointer: Callable[[], object] | None = None
        """Seals a signed checkpoint after a release-critical event (`qms.checkpoint_log.attach`); None: the caller does."""

    @property
    def display_url(self) -> str:
        return _redact(self.url)

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One serialised write transaction: committed whole or not at all."""
        with Session(self.engine, expire_on_commit=False) as session:
            with session.begin():
                if not self.is_sqlite:
                    session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_WRITE_LOCK})
                yield session

    @contextmanager
    def reader(self) -> Iterator[Session]:
        with Session(self.engine, expire_on_commit=False) as session:
            yield session

    def add(self, record: T) -> T:
        """Append one record in its own transaction."""
        with self.transaction() as session:
            session.add(record)
        return record

    def all(self, table: type[T], *where: Any) -> list[T]:
        with self.reader() as session:
            return list(session.exec(select(table).where(*where)))

    @property
    def store_id(self) -> str:
        with self.reader() as session:
            info = session.exec(select(StoreInfo)).first()
        if info is None:  # pragma: no cover - open_store always writes it
            raise StoreError("the store has no identity row", where=self.display_url)
        return info.store_id

    def revisions(self) -> set[str]:
        with self.engine.connect() as conn:
            return current_revisions(conn)

    def dispose(self) -> None:
        self.engine.dispose()


def _check_and_migrate(engine: Engine, url: str) -> set[str]:
    """Refuse a newer schema, migrate an older one; returns the revisions applied now.

    A store already at every head with its identity row (nearly every open) costs two
    reads: alembic is imported only to migrate or to name an unknown revision.
    """
    with engine.connect() as conn:
        found = current_revisions(conn)
    if found == declared_heads():
        with Session(engine) as session:
            if session.exec(select(StoreInfo)).first() is not None:
                return set()
    unknown = found - known_revisions()
    if unknown:
        raise StoreError(
            f"the store was written by a newer qmskit (schema revision {', '.join(sorted(unknown))} is unknown here)",
            where=_redact(url),
            hint="upgrade qmskit; this version will not read or change that store",
        )
    upgrade(engine)
    with engine.connect() as conn:
        now = current_revisions(conn)
    with Session(engine) as session, session.begin():
        if session.exec(select(StoreInfo)).first() is None:
            session.add(StoreInfo(store_id=uuid.uuid4().hex, created_at=utcnow()))
    return now - found


def open_store(url: str, *, create: bool = True) -> Store:
    """Open (and migrate) the store at `url`; with create=False a missing SQLite file is an error."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise StoreError(f"not a database URL: {url!r}", hint="e.g. sqlite:///.qms/qms.db or postgresql+psycopg://host/db") from exc
    if parsed.get_backend_name() == "sqlite":
        db = parsed.database
        if db and db != ":memory:":
            path = Path(db)
            if not path.exists():
                if not create:
                    raise StoreError("no record store here yet", where=str(path),
                                     hint="a new project: `qms init`; an existing one: restore the store from "
                                          "your backup, or start an empty one with `qms store migrate`")
                path.parent.mkdir(parents=True, exist_ok=True)
        engine = _sqlite_engine(url)
    elif parsed.get_backend_name() == "postgresql":
        if parsed.drivername == "postgresql":
            url = parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
        engine = create_engine(url, pool_pre_ping=True, connect_args={"connect_timeout": 10})
    else:
        raise StoreError(f"unsupported database {parsed.get_backend_name()!r}", where=_redact(url), hint="use sqlite or postgresql")
    try:
        migrated = _check_and_migrate(engine, url)
    except OperationalError as exc:
        engine.dispose()
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else "connection failed"
        raise StoreError(f"cannot reach the database: {reason}", where=_redact(url), hint="check QMS_DATABASE_URL and that the server runs") from exc
    except DatabaseError as exc:
        engine.dispose()
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else type(exc).__name__
        raise StoreError(f"the store cannot be read: {reason}", where=_redact(url),
                         hint="the file is not a qmskit store or is damaged: restore it from your backup, or point "
                              "database_url in the project configuration (or QMS_DATABASE_URL) at the right store") from exc
    except SQLAlchemyError as exc:
        engine.dispose()
        raise StoreError(f"database error while opening the store: {type(exc).__name__}", where=_redact(url),
                         hint="check the database URL and that the server runs this qmskit's schema") from exc
    except StoreError:
        engine.dispose()
        raise
    return Store(engine, url, migrated)
