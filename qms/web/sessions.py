"""Browser sessions (21 CFR 11.10(d)): a random token in an HttpOnly cookie, held on the server, ended when idle.

A session is opened only after the identity's key was unlocked with its passphrase
(`qms.web.signin`). It carries its own CSRF token and whether its holder has signed yet
(§11.200(a)(1): the first signing in a session asks for the user id and the passphrase,
later ones the passphrase). Sessions live in the server's memory: one server process,
and a restart signs everyone out.
"""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

__all__ = ["COOKIE", "SessionStore", "WebSession"]

COOKIE = "qms_session"


@dataclass
class WebSession:
    """Who is signed in, since when, and when they last acted."""

    token: str
    user_id: str
    csrf: str
    opened_at: datetime
    last_seen: datetime
    has_signed: bool = False


class SessionStore:
    """Open sessions by token; an idle one is removed when next presented and reported as expired."""

    def __init__(self, idle: timedelta) -> None:
        self.idle = idle
        self._open: dict[str, WebSession] = {}
        self._lock = threading.Lock()

    def open(self, user_id: str, now: datetime) -> WebSession:
        session = WebSession(secrets.token_urlsafe(32), user_id, secrets.token_urlsafe(32), now, now)
        with self._lock:
            self._open[session.token] = session
        return session

    def touch(self, token: str, now: datetime) -> tuple[WebSession | None, WebSession | None]:
        """(the current session, None) when it is live; (None, the expired one) when it idled out; (None, None) if unknown."""
        with self._lock:
            session = self._open.get(token)
            if session is None:
                return None, None
            if now - session.last_seen >= self.idle:
                del self._open[token]
                return None, session
            session.last_seen = now
            return session, None

    def peek(self, token: str, now: datetime) -> WebSession | None:
        """The live session of `token`, without counting this as activity (for error pages' header)."""
        with self._lock:
            session = self._open.get(token)
        return session if session is not None and now - session.last_seen < self.idle else None

    def close(self, token: str) -> WebSession | None:
        with self._lock:
            return self._open.pop(token, None)
