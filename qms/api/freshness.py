"""The per-request reads of the service (the caller's token, the model's stage), kept while nothing changed.

Every change of an API client (`qms.api.tokens`) and every stage change of a model version
(`qms.models.stages`) appends an audit event in the same transaction as its record, so the
reads made while the audit chain's head (its last `seq`) was N still hold while it is N. Each
request reads the head once (one indexed query) and reads its token and its model's stage
again only when the head moved: a revoked token or a demoted version is refused at the first request
after the change, as when every request read them. The service's own refusals are audit events
too, so a refused token is never remembered for long.

The head is read outside any transaction: through a SQLAlchemy connection the store's begin
hook would make it `BEGIN IMMEDIATE` (SQLite's write lock), and every request's read would
wait behind the commit (and fsync) of the inference records. On SQLite, whose WAL readers take
no lock, that read is cheap enough for the event loop (`Reads.inline`), so a request whose
token was already read at this head is authenticated with no hop to a worker thread.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from qms.api.tokens import Client, authenticate, token_sha256
from qms.models import registry
from qms.models.stages import Stage
from qms.store import Store
from qms.store.records import AuditEvent

__all__ = ["Reading", "Reads"]


@dataclass
class _Snapshot:
    head: int
    clients: dict[str, Client | None] = field(default_factory=dict)
    stages: dict[str, Stage] = field(default_factory=dict)


class Reads:
    """The store's API clients and stages as of the audit head: `now()` per request, re-read only after it grew."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._lock = threading.Lock()
        self._snapshot = _Snapshot(-1)
        self._head = f"SELECT max(seq) FROM {AuditEvent.__tablename__}"  # the primary key's index answers it

    @property
    def inline(self) -> bool:
        """Whether `now()` may run on the event loop: a SQLite (WAL) read waits for no writer, while a round trip to
        PostgreSQL would stall every request the loop serves."""
        return self._store.is_sqlite

    def now(self) -> Reading:
        """The reads as of the audit head now (one query); a request makes all its reads through one `Reading`."""
        conn = self._store.engine.raw_connection()  # no transaction, so no write lock (the module's docstring)
        try:
            cursor = conn.cursor()
            cursor.execute(self._head)
            row = cursor.fetchone()
            cursor.close()
        finally:
            conn.close()  # back to the pool, which rolls back whatever the driver began
        head = int(row[0] or 0) if row else 0
        with self._lock:
            if self._snapshot.head != head:
                self._snapshot = _Snapshot(head)
            return Reading(self._store, self._lock, self._snapshot)


@dataclass(frozen=True)
class Reading:
    """`client(token)` and `stage(ref)` as of one audit head, each read from the store once per head."""

    _store: Store
    _lock: threading.Lock
    _snapshot: _Snapshot

    def remembers(self, token: str) -> bool:
        """Whether `client(token)` answers from what was read at this head, with no query."""
        with self._lock:
            return token_sha256(token) in self._snapshot.clients

    def client(self, token: str) -> Client | None:
        """The client this token authenticates (None: no valid token)."""
        key = token_sha256(token)
        with self._lock:
            if key in self._snapshot.clients:
                return self._snapshot.clients[key]
        found = authenticate(self._store, token)
        with self._lock:
            self._snapshot.clients[key] = found
        return found

    def stage(self, ref: str) -> Stage:
        """The version's lifecycle stage."""
        with self._lock:
            if ref in self._snapshot.stages:
                return self._snapshot.stages[ref]
        found = registry.show(self._store, ref).stage
        with self._lock:
            self._snapshot.stages[ref] = found
        return found
