"""Lifecycle stages of a model version: development -> staging -> production.

A stage change appends a `ModelStage` record superseding the previous one, with an audit
event, in one transaction. Production is reached only through `promote_to_production`,
which the release gate calls with the evidence of a signed release; everything else is
refused (DESIGN: "stages move ... to production only through a release").
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from enum import Enum
from pathlib import Path

from sqlmodel import Session, select

from qms import audit
from qms.hashing import canonical_json
from qms.models.errors import ModelError, PromotionRefused
from qms.models.fileset import FileSet
from qms.models.location import folder_of
from qms.models.records import ModelStage, ModelVersion
from qms.models.refs import find_version
from qms.store import Store

__all__ = ["ALLOWED", "ReleaseEvidence", "Stage", "change_stage", "current_stage", "promote_to_production"]

_SHA256 = re.compile(r"^[0-9a-f]{64}$")


class Stage(str, Enum):
    DEVELOPMENT = "development"
    STAGING = "staging"
    PRODUCTION = "production"


ALLOWED: dict[Stage, frozenset[Stage]] = {
    Stage.DEVELOPMENT: frozenset({Stage.STAGING}),
    Stage.STAGING: frozenset({Stage.DEVELOPMENT, Stage.PRODUCTION}),
    Stage.PRODUCTION: frozenset({Stage.STAGING}),
}
"""The transitions a version may make; production -> staging withdraws a release's model."""


def current_stage(history: Sequence[ModelStage]) -> Stage:
    """The stage of the one record no other supersedes (the head of the version's stage chain)."""
    superseded = {s.supersedes for s in history}
    heads = [s for s in history if s.id not in superseded]
    if len(heads) != 1:
        raise ModelError(f"the stage history has {len(heads)} current records instead of one",
                         where=history[0].model_version_id if history else None,
                         hint="the store was changed outside qmskit; run `qms audit verify`")
    return Stage(heads[0].stage)


@dataclass(frozen=True)
class ReleaseEvidence:
    """What a signed release presents to put a model version into production.

    The release gate fills it only after it has verified the release's signed manifest;
    this module checks that the evidence is for exactly this version and is complete.
    """

    release_id: str
    model_ref: str
    model_digest: str
    signed_manifest_sha256: str
    signatures_verified: bool

    def problems(self, record: ModelVersion) -> list[str]:
        """Why this evidence cannot promote `record`; empty when it can."""
        found = []
        if not self.release_id.strip():
            found.append("the evidence names no release")
        if self.model_ref != record.ref:
            found.append(f"the release is for {self.model_ref}, not {record.ref}")
        if self.model_digest != record.digest:
            found.append(f"the release signed model digest {self.model_digest[:16]}..., "
                         f"but {record.ref} is {record.digest[:16]}...")
        if not _SHA256.match(self.signed_manifest_sha256):
            found.append("the release's signed manifest sha256 is missing or malformed")
        if self.signatures_verified is not True:
            found.append("the release's signatures were not verified")
        return found


def _transition(session: Session, record: ModelVersion, target: Stage, actor: str, reason: str,
                evidence: ReleaseEvidence | None) -> ModelStage:
    history = session.exec(select(ModelStage).where(ModelStage.model_version_id == record.id)).all()
    now = current_stage(history)
    head = next(s for s in history if s.id not in {h.supersedes for h in history})
    if target not in ALLOWED[now]:
        raise PromotionRefused(f"{record.ref} is in {now.value}; it cannot move to {target.value}",
                               where=f"model:{record.ref}",
                               hint=f"from {now.value} it may go to {', '.join(sorted(s.value for s in ALLOWED[now]))}")
    change = ModelStage(model_version_id=record.id, stage=target.value, actor=actor, reason=reason,
                        supersedes=head.id, release_id=evidence.release_id if evidence else None,
                        evidence=canonical_json(asdict(evidence)).decode() if evidence else None)
    session.add(change)
    audit.append(session, audit.EventSpec(
        actor, "model.stage", f"model:{record.ref}", before=audit.state_digest({"digest": record.digest, "stage": now.value}),
        after=audit.state_digest({"digest": record.digest, "stage": target.value}),
        details={"from": now.value, "to": target.value, "reason": reason,
                 "release_id": evidence.release_id if evidence else None},
    ))
    return change


def change_stage(store: Store, ref: str, target: Stage, *, actor: str, reason: str) -> ModelStage:
    """Move a version between development and staging (or withdraw it from production to staging)."""
    if target is Stage.PRODUCTION:
        raise PromotionRefused(f"{ref} can reach production only through a signed release", where=f"model:{ref}",
                               hint="run `qms release`, which promotes the model when its gate passes")
    if not reason.strip():
        raise ModelError("a stage change needs a reason", where=f"model:{ref}")
    with store.transaction() as session:
        return _transition(session, find_version(session, ref), target, actor, reason, None)


def promote_to_production(store: Store, ref: str, evidence: ReleaseEvidence, *, actor: str,
                          root: Path | None = None) -> ModelStage:
    """Put a staged version into production on the evidence of a signed release; refuse anything less.

    The files are re-hashed first: a release never promotes weights that changed. `root`
    is the project a relative recorded location is under.
    """
    with store.transaction() as session:
        record = find_version(session, ref)
        problems = evidence.problems(record)
        if problems:
            raise PromotionRefused(f"{ref} not promoted to production: " + "; ".join(problems),
                                   where=f"release:{evidence.release_id or '(none)'}",
                                   hint="production is reached only through `qms release` with a passing gate")
        FileSet.from_json(json.loads(record.files)).verify(folder_of(record.location, root, record.ref))
        return _transition(session, record, Stage.PRODUCTION, actor, f"release {evidence.release_id}", evidence)
