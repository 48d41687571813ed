"""Record tables of traceability: test runs, their results, and link reviews (append-only)."""

from __future__ import annotations

from sqlalchemy import Table
from sqlmodel import Field, SQLModel

from qms.store import Record

__all__ = ["RESULT_TABLE", "RUN_TABLE", "LinkReview", "TestResultRecord", "TestRunRecord"]


class TestRunRecord(Record, table=True):
    """One pytest session of a device project: where, on what, by whom, and its digest."""

    __tablename__ = "test_run"
    __test__ = False

    device: str = Field(nullable=False, max_length=300, index=True)
    commit: str | None = Field(default=None, max_length=64, index=True)
    dirty: bool = Field(nullable=False)
    started_at: str = Field(nullable=False, max_length=32)
    finished_at: str = Field(nullable=False, max_length=32)
    python: str = Field(nullable=False, max_length=200)
    platform: str = Field(nullable=False, max_length=300)
    packages: str = Field(nullable=False, description="canonical JSON: distribution -> version")
    unlinked: str = Field(nullable=False, description="canonical JSON list of node ids with no design link")
    collected: str | None = Field(default=None, description="canonical JSON list of the node ids the run collected")
    exit_status: int = Field(nullable=False)
    actor: str = Field(nullable=False, max_length=200)
    report_digest: str = Field(nullable=False, max_length=64)


class TestResultRecord(Record, table=True):
    """One test's outcome in a run, with the design items it verifies."""

    __tablename__ = "test_result"
    __test__ = False

    run_id: str = Field(nullable=False, max_length=32, index=True, foreign_key="test_run.id")
    nodeid: str = Field(nullable=False)
    outcome: str = Field(nullable=False, max_length=16)
    duration: float = Field(nullable=False)
    verifies: str = Field(nullable=False, description="canonical JSON list of item ids")
    docstring: str = Field(nullable=False, default="")
    source_sha256: str | None = Field(default=None, max_length=64,
                                      description="sha256 of the test function's source when it ran (`testsource`)")


RUN_TABLE: Table = SQLModel.metadata.tables["test_run"]
"""`TestRunRecord`'s table for SQLAlchemy Core (queries and bulk inserts without ORM objects)."""
RESULT_TABLE: Table = SQLModel.metadata.tables["test_result"]
"""`TestResultRecord`'s table for SQLAlchemy Core."""


class LinkReview(Record, table=True):
    """A person reviewed a child item against its parent as it was (its fingerprint)."""

    __tablename__ = "link_review"

    item_id: str = Field(nullable=False, max_length=200, index=True)
    parent_id: str = Field(nullable=False, max_length=200)
    fingerprint: str = Field(nullable=False, max_length=64)
    previous: str | None = Field(default=None, max_length=64)
    actor: str = Field(nullable=False, max_length=200)
