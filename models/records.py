"""The models capability's append-only records: versions, stage changes, training runs.

A stage change is a new `ModelStage` row that supersedes the previous one of the same
version; nothing is ever updated (21 CFR Part 11 §11.10(e)). JSON columns hold canonical
JSON, so their digests are stable.
"""

from __future__ import annotations

from sqlalchemy import Column, Text, UniqueConstraint
from sqlmodel import Field

from qms.store import Record

__all__ = ["ModelStage", "ModelVersion", "TrainingRun"]


class ModelVersion(Record, table=True):
    """One registered model version: its files' hashes, its card and its lineage."""

    __tablename__ = "model_version"
    __table_args__ = (UniqueConstraint("name", "version", name="uq_model_version_name_version"),)

    name: str = Field(max_length=100, index=True)
    version: str = Field(max_length=50)
    digest: str = Field(max_length=64, index=True, description="sha256 over the canonical file list")
    format: str = Field(max_length=20)
    labels: str = Field(sa_column=Column(Text, nullable=False), description="JSON list of output labels")
    files: str = Field(sa_column=Column(Text, nullable=False), description="JSON list of {path, size, sha256}")
    card: str = Field(sa_column=Column(Text, nullable=False), description="the model card, canonical JSON")
    card_digest: str = Field(max_length=64)
    lineage: str = Field(sa_column=Column(Text, nullable=False), description="parent and training run, JSON")
    location: str = Field(sa_column=Column(Text, nullable=False), description="folder the files were registered from")
    registered_by: str = Field(max_length=200)

    @property
    def ref(self) -> str:
        return f"{self.name}@{self.version}"


class ModelStage(Record, table=True):
    """A version entering a lifecycle stage; `supersedes` is the stage record it replaces."""

    __tablename__ = "model_stage"

    model_version_id: str = Field(max_length=32, index=True, foreign_key="model_version.id")
    stage: str = Field(max_length=20)
    actor: str = Field(max_length=200)
    reason: str = Field(sa_column=Column(Text, nullable=False))
    release_id: str | None = Field(default=None, max_length=64, description="the release that promoted it")
    evidence: str | None = Field(default=None, sa_column=Column(Text, nullable=True),
                                 description="the release evidence presented, canonical JSON")


class TrainingRun(Record, table=True):
    """A recorded, reproducible training run: inputs by hash, config, seed, commit, and its output."""

    __tablename__ = "model_training_run"

    config: str = Field(sa_column=Column(Text, nullable=False), description="the training config, canonical JSON")
    config_digest: str = Field(max_length=64)
    seed: int
    manifest_sha256: str = Field(max_length=64)
    git_commit: str | None = Field(default=None, max_length=40)
    git_dirty: bool = False
    parent: str | None = Field(default=None, max_length=160, description="name@version of the model fine-tuned")
    parent_digest: str | None = Field(default=None, max_length=64)
    output_digest: str = Field(max_length=64, index=True, description="digest of the folder it wrote")
    metrics: str = Field(sa_column=Column(Text, nullable=False), description="tuning-set figures, JSON")
    environment: str = Field(sa_column=Column(Text, nullable=False))
    actor: str = Field(max_length=200)
