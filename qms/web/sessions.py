"""Browser sessions (21 CFR 11.10(d)): a random token in an HttpOnly cookie, held in the project's store, ended when idle.

A session is opened only after the identity's key was unlocked with its passphrase
(`qms.web.signin`). The store keeps the sha256 of its token, never the token, so a copy of
the database opens no session; every `qms serve` process on the same store (and the same
process after a restart) sees the same sessions. Its CSRF token is derived from the session
token, and it remembers whether its holder has signed yet (§11.200(a)(1): the first signing
in a session asks for the user id and the passphrase, later ones the passphrase).

Activity is recorded at most once per `resolution` (a twentieth of the idle timeout, at most
a minute): the idle time is counted from the last recorded activity, so a session may end up
to that much early, never late.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from qms import audit
from qms.gate.record_events import session_state
from qms.store import Store
from qms.web.records import SessionMark, WebSessionRecord

__all__ = ["COOKIE", "SessionStore", "WebSession"]

COOKIE = "qms_session"
_ENDED = ("closed", "expired")


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _aware(when: datetime) -> datetime:
    """A time read back from the store, in UTC (SQLite gives it back without its zone)."""
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


@dataclass
class WebSession:
    """Who is signed in, since when, and when they last acted."""

    id: str
    token: str
    user_id: str
    opened_at: datetime
    last_seen: datetime
    has_signed: bool = False

    @property
    def csrf(self) -> str:
        """The forms' token: derived from the session token (a page shows it; the store never holds it)."""
        return hmac.new(self.token.encode(), b"qms serve csrf", hashlib.sha256).hexdigest()


class SessionStore:
    """Open sessions in the store by token hash; an idle one ends when next presented and is reported as expired."""

    def __init__(self, store: Store, idle: timedelta) -> None:
        self.store = store
        self.idle = idle
        self.resolution = min(idle / 20, timedelta(minutes=1))

    def open(self, user_id: str, now: datetime, details: dict[str, Any]) -> WebSession:
        """Open a session and record its `session.open` event (with `details`) in one transaction.

        The event names the row and its state (`qms.gate.record_events.session_state`), so a session row
        inserted or edited by SQL is caught by the gate's cross-check.
        """
        token = secrets.token_urlsafe(32)
        record = WebSessionRecord(token_sha256=_hash(token), user_id=user_id, opened_at=now)
        with self.store.transaction() as session:
            session.add(record)
            session.flush()
            audit.append(session, audit.EventSpec(user_id, "session.open", f"user:{user_id}",
                                                  after=session_state(record.token_sha256, now),
                                                  details={**details, "session": record.id}))
        return WebSession(record.id, token, user_id, now, now)

    def _read(self, session: Session, token: str) -> tuple[WebSession, set[str]] | None:
        record = session.exec(select(WebSessionRecord).where(WebSessionRecord.token_sha256 == _hash(token))).first()
        if record is None:
            return None
        marks = {kind: _aware(at) for kind, at in session.exec(
            select(SessionMark.kind, func.max(SessionMark.at)).where(SessionMark.session_id == record.id)
            .group_by(col(SessionMark.kind)))}
        opened = _aware(record.opened_at)
        live = WebSession(record.id, token, record.user_id, opened, max(opened, marks.get("seen", opened)), "signed" in marks)
        return live, set(marks)

    def _end(self, token: str, kind: str, now: datetime) -> WebSession | None:
        """Mark the session ended, once: of two processes ending it at the same moment, one does."""
        with self.store.transaction() as session:
            found = self._read(session, token)
            if found is None or set(_ENDED) & found[1]:
                return None
            session.add(SessionMark(session_id=found[0].id, kind=kind, at=now))
            return found[0]

    def touch(self, token: str, now: datetime) -> tuple[WebSession | None, WebSession | None]:
        """(the current session, None) when it is live; (None, the expired one) when it idled out; (None, None) if unknown."""
        with self.store.reader() as session:
            found = self._read(session, token)
        if found is None or set(_ENDED) & found[1]:
            return None, None
        live = found[0]
        if now - live.last_seen >= self.idle:
            return None, self._end(token, "expired", now)
        if now - live.last_seen >= self.resolution:
            self.store.add(SessionMark(session_id=live.id, kind="seen", at=now))
            live.last_seen = now
        return live, None

    def peek(self, token: str, now: datetime) -> WebSession | None:
        """The live session of `token`, without counting this as activity (for error pages' header)."""
        with self.store.reader() as session:
            found = self._read(session, token)
        if found is None or set(_ENDED) & found[1] or now - found[0].last_seen >= self.idle:
            return None
        return found[0]

    def signed(self, live: WebSession, now: datetime) -> None:
        """The holder has signed once in this session: later signings ask only for the passphrase."""
        if not live.has_signed:
            self.store.add(SessionMark(session_id=live.id, kind="signed", at=now))
            live.has_signed = True

    def close(self, token: str, now: datetime) -> WebSession | None:
        return self._end(token, "closed", now)
