"""Which model versions may answer requests: production stage, a verifying release bundle, unchanged files.

A version is served only when every step passes; the first failing step is the refusal's
reason. The steps, in order:
 1. its current stage is production;
 2. the stage record carries the release evidence, for exactly this version's digest;
 3. the release the evidence names was bundled, and its bundle file has the recorded sha256;
 4. the bundle verifies offline against the configured CA (`qms.release.bundle.verify_bundle`);
 5. the bundle's signed manifest is the one the promotion presented, and names this model digest;
 6. the files match the registry (`qms.models.registry.load` re-hashes them) and load.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from sqlmodel import select

from qms.errors import QmsError
from qms.hashing import sha256_file, sha256_hex
from qms.models import registry
from qms.models.loaders import LoadedModel
from qms.models.records import ModelStage
from qms.models.stages import Stage
from qms.release.bundle import ENVELOPE, manifest_payload, verify_bundle
from qms.release_steps import ReleaseStep, Step
from qms.store import Store

__all__ = ["Eligibility", "ServingPolicy", "check_version", "production_refs"]


@dataclass(frozen=True)
class ServingPolicy:
    """What the checks need besides the store: the project root, where bundles are, and the trusted CA."""

    root: Path
    bundle_for: Callable[[str], Path]
    anchors: tuple[x509.Certificate, ...]


@dataclass(frozen=True)
class Eligibility:
    """The outcome for one version: a loaded model, or the reason it is not served."""

    ref: str
    model: LoadedModel | None
    reason: str

    @property
    def served(self) -> bool:
        return self.model is not None


class _Refused(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def production_refs(store: Store) -> list[str]:
    """Every registered version whose current stage is production, the most recently promoted last."""
    views = [v for v in registry.versions(store) if v.stage is Stage.PRODUCTION]
    return [v.record.ref for v in sorted(views, key=lambda v: max(s.created_at for s in v.history))]


def _evidence(store: Store, ref: str) -> tuple[dict[str, object], str]:
    """Steps 1-2: the production stage record's evidence, and the version's registered digest."""
    view = registry.show(store, ref)
    if view.stage is not Stage.PRODUCTION:
        raise _Refused(f"{ref} is in stage {view.stage.value}, not production")
    head: ModelStage = next(s for s in view.history if s.id not in {h.supersedes for h in view.history})
    evidence = json.loads(head.evidence or "null")
    if not isinstance(evidence, dict) or evidence.get("model_digest") != view.record.digest:
        raise _Refused(f"{ref}'s production stage carries no release evidence for its digest")
    return evidence, view.record.digest


def _bundle(store: Store, policy: ServingPolicy, evidence: dict[str, object]) -> Path:
    """Step 3: the bundle file of the release the evidence names, as the release recorded it."""
    with store.reader() as session:
        approved = session.get(ReleaseStep, str(evidence.get("release_id")))
        if approved is None:
            raise _Refused(f"the release {evidence.get('release_id')} named by the promotion is not recorded")
        bundled = session.exec(select(ReleaseStep).where(ReleaseStep.version == approved.version,
                                                         ReleaseStep.step == Step.BUNDLED.value)).first()
    if bundled is None or not bundled.bundle_sha256:
        raise _Refused(f"release {approved.version} was never bundled")
    path = policy.bundle_for(approved.version)
    if not path.is_file():
        raise _Refused(f"the bundle of release {approved.version} is missing ({path.name})")
    if sha256_file(path) != bundled.bundle_sha256:
        raise _Refused(f"the bundle of release {approved.version} is not the file the release recorded (sha256 differs)")
    return path


def _verified(path: Path, policy: ServingPolicy, evidence: dict[str, object], ref: str, digest: str) -> None:
    """Steps 4-5: the bundle verifies, its signed manifest is the promotion's, and it names this digest."""
    report = verify_bundle(path, policy.anchors)
    if not report.ok:
        first = report.findings[0] if report.findings else None
        raise _Refused(f"the release bundle does not verify: {f'{first.item}: {first.reason}' if first else 'no files'}")
    with zipfile.ZipFile(path) as z:
        payload = manifest_payload(json.loads(z.read(ENVELOPE)))
    if sha256_hex(payload) != evidence.get("signed_manifest_sha256"):
        raise _Refused("the bundle's signed manifest is not the one presented when the model was promoted")
    signed = json.loads(payload).get("predicate", {}).get("model", {})
    if signed.get(ref) != digest:
        raise _Refused(f"the bundle's signed manifest does not name {ref} with its registered digest")


def check_version(store: Store, ref: str, policy: ServingPolicy) -> Eligibility:
    """Run every step for `ref`; the model is loaded only when all of them pass."""
    try:
        evidence, digest = _evidence(store, ref)
        _verified(_bundle(store, policy, evidence), policy, evidence, ref, digest)
        model = registry.load(store, ref, root=policy.root)  # step 6
    except _Refused as exc:
        return Eligibility(ref, None, exc.reason)
    except QmsError as exc:  # a path is shown relative to the project: clients see the reason, not the server's layout
        where = exc.where.replace(f"{policy.root.resolve()}/", "") if exc.where else None
        return Eligibility(ref, None, exc.message + (f" ({where})" if where else ""))
    return Eligibility(ref, model, "production, release bundle verified, files match the registry")
