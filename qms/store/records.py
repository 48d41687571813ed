"""What every record has: an id, a creation time, and the record it corrects, if any."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlmodel import Field, SQLModel

__all__ = ["AuditEvent", "Record", "StoreInfo", "new_id", "utcnow"]


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_id() -> str:
    return uuid.uuid4().hex


class Record(SQLModel):
    """Base of every append-only record table (not a table itself)."""

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    created_at: datetime = Field(default_factory=utcnow, nullable=False)
    supersedes: str | None = Field(default=None, max_length=32, description="id of the record this one corrects")


class StoreInfo(SQLModel, table=True):
    """One row per store: its identity, which audit checkpoints name."""

    __tablename__ = "store_info"

    store_id: str = Field(primary_key=True, max_length=32)
    created_at: datetime = Field(nullable=False)


class AuditEvent(SQLModel, table=True):
    """One link of the hash-chained audit trail (21 CFR Part 11 §11.10(e))."""

    __tablename__ = "audit_event"

    seq: int = Field(primary_key=True, description="1, 2, 3, ... with no gaps")
    time: str = Field(nullable=False, max_length=32, description="UTC, ISO 8601 with microseconds")
    actor: str = Field(nullable=False, max_length=200)
    action: str = Field(nullable=False, max_length=100, index=True)
    object: str = Field(nullable=False, max_length=300, index=True)
    before_digest: str | None = Field(default=None, max_length=64)
    after_digest: str | None = Field(default=None, max_length=64)
    details: str = Field(default="{}", nullable=False, description="canonical JSON, no PHI")
    prev_hash: str = Field(nullable=False, max_length=64)
    hash: str = Field(nullable=False, max_length=64, unique=True)
