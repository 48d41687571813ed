"""Browser sessions as records in the project's store, so every `qms serve` process (and a restart) sees the same ones.

A session is a row naming the sha256 of its token (the token itself is only in the
browser's cookie) and its user; what happens to it later (activity, a first signing, its
end) is a further mark: the store is append-only, so a session's state is read from its marks.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field

from qms.store import Record

__all__ = ["SessionMark", "WebSessionRecord"]


class WebSessionRecord(Record, table=True):
    """One signed-in browser session: who, since when (the server's clock), under which token hash."""

    __tablename__ = "web_session"

    token_sha256: str = Field(max_length=64, index=True, unique=True)
    user_id: str = Field(max_length=64)
    opened_at: datetime = Field(nullable=False)


class SessionMark(Record, table=True):
    """Something that happened to a session: `seen` (activity), `signed` (its first signature), `closed`, `expired`."""

    __tablename__ = "web_session_mark"

    session_id: str = Field(max_length=32, index=True)
    kind: str = Field(max_length=16)
    at: datetime = Field(nullable=False)
