"""Release records: each step of a release (authored, reviewed, approved, bundled) is a new row.

Append-only (21 CFR Part 11 §11.10(e)): a release's state is read from its rows in order;
nothing is updated.
"""

from __future__ import annotations

import json
from enum import Enum
from typing import Any

from sqlmodel import Field, col, select

from qms.audit import EventSpec
from qms.hashing import sha256_hex
from qms.store import Record, Store

__all__ = ["ReleaseStep", "Step", "previous_release", "step_event", "steps"]


class Step(str, Enum):
    """What a release record records; the order is the permitted sequence (§11.10(f))."""

    AUTHORED = "authored"
    REVIEWED = "reviewed"
    APPROVED = "approved"
    BUNDLED = "bundled"


class ReleaseStep(Record, table=True):
    """One step of one release: who signed it (actor), at which commit, for which documents."""

    __tablename__ = "release_step"

    version: str = Field(nullable=False, max_length=64, index=True)
    step: str = Field(nullable=False, max_length=16)
    actor: str = Field(nullable=False, max_length=200)
    commit: str = Field(nullable=False, max_length=64)
    model: str = Field(nullable=False, max_length=200)
    plan_digest: str = Field(nullable=False, max_length=64)
    verdict_digest: str = Field(nullable=False, max_length=64, description="digest of the gate verdict JSON")
    documents: str = Field(nullable=False, description="canonical JSON: file name -> sha256")
    soup: str = Field(nullable=False, description="canonical JSON: distribution -> version")
    bundle_sha256: str | None = Field(default=None, max_length=64)

    def document_digests(self) -> dict[str, str]:
        return dict(json.loads(self.documents))

    def soup_versions(self) -> dict[str, str]:
        return dict(json.loads(self.soup))

    def to_json(self) -> dict[str, Any]:
        return {"version": self.version, "step": self.step, "actor": self.actor, "commit": self.commit,
                "model": self.model, "time": self.created_at.isoformat(), "documents": self.document_digests(),
                "bundle_sha256": self.bundle_sha256}


def step_event(row: ReleaseStep, run_by: str, invoked_by: str | None = None) -> EventSpec:
    """The step's audit event, recorded with its row: everything the row holds (the documents and SOUP by digest).

    `run_by` ran the command; the row names the signer. `qms.gate.record_events` checks the row against it.
    """
    return EventSpec(run_by, f"release.{row.step}", f"release:{row.version}", before=row.supersedes,
                     after=sha256_hex(row.documents.encode()),
                     details={"commit": row.commit, "model": row.model, "documents": len(row.document_digests()),
                              "signer": row.actor, "bundle_sha256": row.bundle_sha256, "plan_digest": row.plan_digest,
                              "verdict_digest": row.verdict_digest, "soup_sha256": sha256_hex(row.soup.encode()),
                              **({"invoked_by": invoked_by} if invoked_by else {})})


def steps(store: Store, version: str) -> list[ReleaseStep]:
    """The release's steps, oldest first."""
    with store.reader() as session:
        rows = session.exec(select(ReleaseStep).where(ReleaseStep.version == version)
                            .order_by(col(ReleaseStep.created_at), col(ReleaseStep.id)))
        return list(rows)


def previous_release(store: Store, version: str) -> ReleaseStep | None:
    """The last bundled release other than `version`: the baseline for SOUP changes and release notes."""
    with store.reader() as session:
        rows = session.exec(select(ReleaseStep).where(ReleaseStep.step == Step.BUNDLED.value,
                                                      ReleaseStep.version != version)
                            .order_by(col(ReleaseStep.created_at).desc()).limit(1))
        return rows.first()
