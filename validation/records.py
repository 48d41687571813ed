"""The validation capability's append-only records: datasets, protocol locks, validation runs.

JSON columns hold canonical JSON so their digests are stable. Nothing is updated: a
re-lock of a changed protocol is refused (a new version is a new lock), and every run,
passing or failing, is a new row that counts as one more use of its dataset.
"""

from __future__ import annotations

from sqlalchemy import Column, Text, UniqueConstraint
from sqlmodel import Field, col, select

from qms.store import Record, Store

__all__ = ["DatasetRecord", "ProtocolLock", "ValidationRun", "latest_lock"]


class DatasetRecord(Record, table=True):
    """A dataset manifest as created: its hash, its split, and its content (pseudonymous ids only)."""

    __tablename__ = "validation_dataset"

    name: str = Field(max_length=200)
    split: str = Field(max_length=50)
    sha256: str = Field(max_length=64, unique=True)
    files: int
    patients: int
    path: str = Field(sa_column=Column(Text, nullable=False), description="where the manifest file was written")
    manifest: str = Field(sa_column=Column(Text, nullable=False), description="the manifest, canonical JSON")
    created_by: str = Field(max_length=200)


class ProtocolLock(Record, table=True):
    """A protocol frozen with the model and dataset it names (VALIDATION.md, frozen-protocol identity)."""

    __tablename__ = "validation_protocol_lock"
    __table_args__ = (UniqueConstraint("protocol_id", "protocol_version", name="uq_protocol_lock_id_version"),)

    protocol_id: str = Field(max_length=100, index=True)
    protocol_version: str = Field(max_length=50)
    title: str = Field(sa_column=Column(Text, nullable=False))
    text_sha256: str = Field(max_length=64, description="sha256 of the protocol document, line endings normalised")
    content_sha256: str = Field(max_length=64, description="sha256 of the parsed protocol, canonical JSON")
    content: str = Field(sa_column=Column(Text, nullable=False), description="the parsed protocol, canonical JSON")
    path: str = Field(sa_column=Column(Text, nullable=False))
    model_ref: str = Field(max_length=160)
    model_sha256: str = Field(max_length=64)
    manifest_path: str = Field(sa_column=Column(Text, nullable=False))
    manifest_sha256: str = Field(max_length=64, index=True)
    training_manifests: str = Field(sa_column=Column(Text, nullable=False), description="JSON list of sha256")
    lock_sha256: str = Field(max_length=64, description="sha256 of the lock statement, what a signature signs")
    locked_by: str = Field(max_length=200)
    signature_id: str | None = Field(default=None, max_length=32)

    @property
    def key(self) -> str:
        return f"{self.protocol_id}@{self.protocol_version}"


class ValidationRun(Record, table=True):
    """One run of a locked protocol: what it saw, what it measured, its verdict and environment."""

    __tablename__ = "validation_run"

    lock_id: str = Field(max_length=32, index=True, foreign_key="validation_protocol_lock.id")
    protocol_key: str = Field(max_length=160, index=True)
    model_ref: str = Field(max_length=160)
    model_sha256: str = Field(max_length=64)
    manifest_sha256: str = Field(max_length=64, index=True)
    dataset_use: int = Field(description="this run is the n-th recorded run on the dataset")
    verdict: str = Field(max_length=10)
    predictions_sha256: str = Field(max_length=64)
    result_sha256: str = Field(max_length=64)
    result: str = Field(sa_column=Column(Text, nullable=False), description="metrics, intervals, verdicts: canonical JSON")
    out_dir: str = Field(sa_column=Column(Text, nullable=False))
    environment: str = Field(sa_column=Column(Text, nullable=False))
    actor: str = Field(max_length=200)


def latest_lock(store: Store, protocol_id: str) -> tuple[ProtocolLock, list[ValidationRun]] | None:
    """The latest lock of a protocol and its runs, oldest first; None when it was never locked (read by gate and release)."""
    with store.reader() as session:
        lock = session.exec(select(ProtocolLock).where(ProtocolLock.protocol_id == protocol_id)
                            .order_by(col(ProtocolLock.created_at).desc())).first()
        if lock is None:
            return None
        runs = session.exec(select(ValidationRun).where(ValidationRun.lock_id == lock.id)
                            .order_by(col(ValidationRun.created_at)))
        return lock, list(runs)
