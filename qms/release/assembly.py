"""Assembling the submission bundle of an approved release: certificates, release.json, checkpoint, signed manifest.

What the bundle holds is described in `qms.release.bundle`, which verifies it; this
module writes it. Zip entry times are fixed, so the same files make the same bundle.
"""

from __future__ import annotations

import json
import tempfile
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from qms import atomic, checkpoint, checkpoint_log
from qms.checkpoint_carried import BUNDLE_SUFFIX
from qms.config import Project
from qms.errors import QmsError
from qms.hashing import sha256_file, sha256_hex
from qms.models import registry
from qms.release.bundle import CHECKPOINT, CRL, ENVELOPE, MANIFEST, PLAN, RELEASE, ROSTER, ROSTER_APPROVAL, manifest_payload
from qms.release_plan import ReleasePlan
from qms.release_steps import ReleaseStep
from qms.signing.authority import approval_document, approved_roster
from qms.signing.crl import current_crl
from qms.signing.identity import identity
from qms.signing.manifest import Provenance, sign_manifest
from qms.signing.meaning import SignatureMeaning
from qms.signing.roster import load_roster
from qms.signing.signatory import Signatory
from qms.signing.trust import load_anchors
from qms.store import Store
from qms.validation.records import latest_lock

__all__ = ["AssembledBundle", "assemble_bundle", "authority_files", "bundle_path", "folder_digests", "release_json",
           "write_bundle"]

_FIXED_TIME = (2000, 1, 1, 0, 0, 0)


@dataclass(frozen=True)
class AssembledBundle:
    """A bundle just written, with what its verification and the promotion need."""

    path: Path
    envelope: dict[str, Any]
    anchors: tuple[x509.Certificate, ...]
    model_digest: str

    @property
    def manifest_sha256(self) -> str:
        return sha256_hex(manifest_payload(self.envelope))


def bundle_path(project: Project, version: str) -> Path:
    return project.records_dir / "releases" / f"{version}{BUNDLE_SUFFIX}"


def folder_digests(folder: Path) -> dict[str, str]:
    """Every file of a release folder (posix path relative to it) and its sha256."""
    return {p.relative_to(folder).as_posix(): sha256_file(p) for p in sorted(folder.rglob("*")) if p.is_file()}


def release_json(release: str, roles: Mapping[str, list[str]], store_id: str, checkpoint_key: Ed25519PublicKey,
                 extra: Mapping[str, Any]) -> bytes:
    """What the bundle says about itself; it is a listed file, so the manifest's signature covers it."""
    key = checkpoint_key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    doc = {"kind": "qms-release/v1", "release": release, "roles": dict(roles), "store_id": store_id,
           "checkpoint_key": key, **extra}
    return (json.dumps(doc, indent=2, sort_keys=True) + "\n").encode()


def write_bundle(path: Path, files: Mapping[str, bytes], envelope_doc: dict[str, Any]) -> None:
    """Write the zip atomically: the files, the envelope, and the payload as manifest.json."""
    payload = manifest_payload(envelope_doc)
    contents = {**files, ENVELOPE: (json.dumps(envelope_doc, indent=2, sort_keys=True) + "\n").encode(), MANIFEST: payload}
    with atomic.atomic_writer(path, "wb") as f, zipfile.ZipFile(f, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for name in sorted(contents):
            z.writestr(zipfile.ZipInfo(name, _FIXED_TIME), contents[name], compress_type=zipfile.ZIP_DEFLATED)


def authority_files(store: Store, identity_dir: Path, plan: ReleasePlan, commit: str, roster_path: Path) -> dict[str, bytes]:
    """What `bundle verify` judges every signature by: the approved roster, its approval, the plan and its commit."""
    roster = load_roster(roster_path)
    approval = approval_document(store, identity_dir, approved_roster(store, identity_dir, roster))
    plan_doc = {"kind": "qms-release-plan/v1", "commit": commit, **plan.to_json()}
    return {ROSTER: roster.canonical(), ROSTER_APPROVAL: _pretty(approval), PLAN: _pretty(plan_doc)}


def _pretty(doc: Mapping[str, Any]) -> bytes:
    return (json.dumps(doc, indent=2, sort_keys=True) + "\n").encode()


def _certificates(store: Store, identity_dir: Path, plan: ReleasePlan,
                  anchors: tuple[x509.Certificate, ...]) -> dict[str, bytes]:
    """The CA certificates and every allowed signer's certificate, so the bundle verifies offline."""
    out = {f"certs/ca-{i + 1}.pem": ca.public_bytes(serialization.Encoding.PEM) for i, ca in enumerate(anchors)}
    for users in plan.signers.values():
        for uid in users:
            out[f"certs/signers/{uid}.pem"] = identity(store, identity_dir, uid).certificate.public_bytes(serialization.Encoding.PEM)
    return out


def _provenance(store: Store, plan: ReleasePlan, approved: ReleaseStep, model_digest: str,
                evidence: bytes) -> Provenance:
    """The commit, model, dataset and protocol hashes and test runs the signed manifest names."""
    locks = []
    for pid in plan.protocols:
        found = latest_lock(store, pid)
        if found is None:
            raise QmsError("the protocol is not locked", where=pid)
        locks.append(found[0])
    tests = json.loads(evidence)["tests"]
    return Provenance(approved.commit, {plan.model_ref: model_digest},
                      {lock.protocol_id: lock.manifest_sha256 for lock in locks},
                      {lock.protocol_id: lock.text_sha256 for lock in locks}, sorted({t["run"] for t in tests}))


def assemble_bundle(project: Project, store: Store, identity_dir: Path, plan: ReleasePlan, approved: ReleaseStep,
                    folder: Path, signatory: Signatory) -> AssembledBundle:
    """Checkpoint the audit trail, sign the manifest over the release folder plus the extra files, write the zip."""
    key = checkpoint.load_or_create_key(identity_dir / checkpoint.KEY_FILE)
    model = registry.get(store, plan.model_ref)
    anchors = load_anchors(identity_dir)
    extra = _certificates(store, identity_dir, plan, anchors)
    tsa = project.config.signing.get("tsa")
    crl = current_crl(store, identity_dir)
    if crl is not None:
        extra[CRL] = crl
    extra[RELEASE] = release_json(plan.version, {r: list(v) for r, v in plan.signers.items()}, store.store_id,
                                  key.public_key(), {"device": project.config.device, "model": plan.model,
                                                     "plan_digest": approved.plan_digest,
                                                     "verdict_digest": approved.verdict_digest,
                                                     "trusted_time": bool(tsa)})
    extra.update(authority_files(store, identity_dir, plan, approved.commit, project.path(plan.roster_file)))
    sealed = checkpoint_log.seal(store, identity_dir / checkpoint.KEY_FILE, project.records_dir / checkpoint_log.LOG_FILE)
    extra[CHECKPOINT] = (json.dumps(sealed.to_json(), indent=2, sort_keys=True) + "\n").encode()
    files = {**{n: (folder / n).read_bytes() for n in folder_digests(folder)}, **extra}
    provenance = _provenance(store, plan, approved, model.digest, files["data/evidence.json"])
    with tempfile.TemporaryDirectory() as staged:  # the release folder stays as approved; the bundle adds to it
        for name, content in files.items():
            (Path(staged) / name).parent.mkdir(parents=True, exist_ok=True)
            (Path(staged) / name).write_bytes(content)
        doc, _ = sign_manifest(store, identity_dir, signatory.user_id, signatory.passphrase, Path(staged), sorted(files),
                               provenance, SignatureMeaning.APPROVED, f"release:{plan.version}:manifest",
                               actor=signatory.run_by, non_interactive=signatory.non_interactive,
                               tsa=str(tsa) if tsa else None)
    out = bundle_path(project, plan.version)
    write_bundle(out, files, doc)
    return AssembledBundle(out, doc, anchors, model.digest)
