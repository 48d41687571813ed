"""The per-request reads of the service (the caller's token, the model's stage), kept while nothing changed.

Every change of an API client (`qms.api.tokens`) and every stage change of a model version
(`qms.models.stages`) appends an audit event in the same transaction as its record, so the
reads made while the audit chain's head (its last `seq`) was N still hold while it is N. Each
request reads the head (one indexed query) and reads its token and its model's stage again
only when the head moved: a revoked token or a demoted version is refused at the first request
after the change, as when every request read them. The service's own refusals are audit events
too, so a refused token is never remembered for long.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from sqlalchemy import func, select

from qms.api.tokens import Client, authenticate, token_sha256
from qms.models import registry
from qms.models.stages import Stage
from qms.store import Store
from qms.store.records import AuditEvent

__all__ = ["Reads"]


@dataclass
class _Snapshot:
    head: int
    clients: dict[str, Client | None] = field(default_factory=dict)
    stages: dict[str, Stage] = field(default_factory=dict)


class Reads:
    """`client(token)` and `stage(ref)` as the store says now, re-read only after the audit chain grew."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._lock = threading.Lock()
        self._snapshot = _Snapshot(-1)

    def _current(self) -> _Snapshot:
        with self._store.engine.connect() as conn:
            head = int(conn.execute(select(func.max(AuditEvent.seq))).scalar() or 0)
        with self._lock:
            if self._snapshot.head != head:
                self._snapshot = _Snapshot(head)
            return self._snapshot

    def client(self, token: str) -> Client | None:
        """The client this token authenticates now (None: no valid token)."""
        snapshot, key = self._current(), token_sha256(token)
        with self._lock:
            if key in snapshot.clients:
                return snapshot.clients[key]
        found = authenticate(self._store, token)
        with self._lock:
            snapshot.clients[key] = found
        return found

    def stage(self, ref: str) -> Stage:
        """The version's current lifecycle stage."""
        snapshot = self._current()
        with self._lock:
            if ref in snapshot.stages:
                return snapshot.stages[ref]
        found = registry.show(self._store, ref).stage
        with self._lock:
            snapshot.stages[ref] = found
        return found
