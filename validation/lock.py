"""Locking: a protocol frozen, before any run, with the model and the dataset it names.

The lock statement (protocol text and content hashes, model hash, manifest hash, the
training manifests independence is checked against, who locked it) is hashed and may be
signed (21 CFR Part 11 §11.50, §11.70). A lock is never changed: locking a different
protocol under the same id and version is refused, naming what differs; a run compares
everything with its lock and refuses any difference (`check_run_inputs`).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlmodel import select

from qms import audit
from qms.errors import CheckFailed, QmsError
from qms.hashing import canonical_json, digest_of
from qms.store import Store
from qms.validation.filetable import TableSummary, read_manifest
from qms.validation.manifest import DatasetManifest
from qms.validation.records import DatasetRecord, ProtocolLock

if TYPE_CHECKING:  # annotations only: `qms dataset create` need not import sklearn and scipy
    from qms.validation.protocol import Protocol

__all__ = [
    "LockInputs", "Signer", "check_run_inputs", "differences", "find_lock", "lock", "record_dataset", "resolve",
    "stored_manifest",
]

Signer = Callable[[bytes, str], str]
"""Signs the lock statement's bytes for an object ref; returns the signature record's id."""


def differences(old: Any, new: Any, path: str = "") -> list[str]:
    """Dotted paths at which two parsed documents differ (a key added, removed or changed)."""
    if isinstance(old, dict) and isinstance(new, dict):
        out: list[str] = []
        for key in sorted(set(old) | set(new)):
            out += differences(old.get(key), new.get(key), f"{path}.{key}" if path else key)
        return out
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        return [d for i, (a, b) in enumerate(zip(old, new, strict=True)) for d in differences(a, b, f"{path}[{i}]")]
    return [] if canonical_json(old) == canonical_json(new) else [path or "(document)"]


def record_dataset(store: Store, manifest: DatasetManifest | TableSummary, path: Path,
                   actor: str) -> tuple[DatasetRecord, bool]:
    """Keep the manifest in the store (once per hash) so runs can find it by hash; (record, newly added).
    A streamed one (its `TableSummary`, written at `path` in either form) is kept as its head, hash and where
    it was written: its rows stay in the file, and `stored_manifest` reads and checks them there."""
    if isinstance(manifest, TableSummary):
        name, split, files, patients = manifest.head.name, manifest.head.split, manifest.files, manifest.patients
        content = {**manifest.head.body(), "sha256": manifest.sha256, "stored_in": str(path.resolve())}
    else:
        name, split, files, patients = manifest.name, manifest.split, len(manifest.entries), len(manifest.patient_ids)
        content = manifest.to_json()
    with store.transaction() as session:
        found = session.exec(select(DatasetRecord).where(DatasetRecord.sha256 == manifest.sha256)).first()
        if found is not None:
            return found, False
        rec = DatasetRecord(name=name, split=split, sha256=manifest.sha256, files=files, patients=patients,
                            path=str(path), manifest=canonical_json(content).decode(), created_by=actor)
        session.add(rec)
        audit.append(session, audit.EventSpec(actor, "dataset.create", f"dataset:{manifest.sha256}",
                                              after=manifest.sha256,
                                              details={"name": name, "split": split,
                                                       "files": rec.files, "patients": rec.patients}))
    return rec, True


def stored_manifest(store: Store, sha256: str) -> DatasetManifest | None:
    rows = store.all(DatasetRecord, DatasetRecord.sha256 == sha256)
    if not rows:
        return None
    data = json.loads(rows[0].manifest)
    if "stored_in" not in data:
        return DatasetManifest.from_json(data, f"dataset:{sha256}")
    manifest = read_manifest(Path(data["stored_in"]))
    if manifest.sha256 != sha256:
        raise CheckFailed(f"the manifest file no longer has the recorded hash (recorded {sha256}, file "
                          f"{manifest.sha256})", where=data["stored_in"], hint="restore the manifest file")
    return manifest


def find_lock(store: Store, key: str) -> ProtocolLock | None:
    protocol_id, _, version = key.partition("@")
    rows = store.all(ProtocolLock, ProtocolLock.protocol_id == protocol_id, ProtocolLock.protocol_version == version)
    return rows[0] if rows else None


@dataclass(frozen=True)
class LockInputs:
    """What a lock freezes, resolved from the protocol, the manifest file and the model registry."""

    protocol: Protocol
    manifest_path: Path
    manifest: DatasetManifest
    model_sha256: str
    training_manifests: tuple[str, ...]

    def statement(self, actor: str) -> dict[str, Any]:
        p = self.protocol
        return {"protocol": p.key, "text_sha256": p.text_sha256, "content_sha256": p.content_sha256,
                "model_ref": p.model_ref, "model_sha256": self.model_sha256, "manifest_sha256": self.manifest.sha256,
                "training_manifests": list(self.training_manifests), "locked_by": actor}


def resolve(protocol: Protocol, root: Path, model_sha256: str, lineage_manifests: tuple[str, ...]) -> LockInputs:
    """Read the named manifest and check the hashes the protocol states, naming any that differ."""
    manifest_path = root / protocol.manifest
    manifest = DatasetManifest.from_file(manifest_path)
    if protocol.manifest_sha256 and protocol.manifest_sha256 != manifest.sha256:
        raise CheckFailed(f"dataset.sha256 {protocol.manifest_sha256} differs from the manifest's hash {manifest.sha256}",
                          where=f"{protocol.source}: dataset.sha256", hint=f"the manifest {manifest_path} changed")
    if protocol.model_sha256 and protocol.model_sha256 != model_sha256:
        raise CheckFailed(f"model.sha256 {protocol.model_sha256} differs from the registered {protocol.model_ref} "
                          f"({model_sha256})", where=f"{protocol.source}: model.sha256")
    extra = tuple(DatasetManifest.from_file(root / p).sha256 for p in protocol.training_manifests)
    return LockInputs(protocol, manifest_path, manifest, model_sha256, tuple(sorted(set(lineage_manifests + extra))))


def _compare(lock: ProtocolLock, inputs: LockInputs) -> list[str]:
    """What differs between a lock and the inputs now, named by protocol field or hash."""
    p = inputs.protocol
    found = [f"protocol field {d}" for d in differences(json.loads(lock.content), p.content)]
    if not found and lock.text_sha256 != p.text_sha256:
        found.append("protocol document text (comments or layout; sha256 "
                     f"{lock.text_sha256[:12]} locked, {p.text_sha256[:12]} now)")
    if lock.model_sha256 != inputs.model_sha256:
        found.append(f"model {p.model_ref} sha256 ({lock.model_sha256[:12]} locked, {inputs.model_sha256[:12]} now)")
    if lock.manifest_sha256 != inputs.manifest.sha256:
        found.append(f"dataset manifest {inputs.manifest_path} sha256 "
                     f"({lock.manifest_sha256[:12]} locked, {inputs.manifest.sha256[:12]} now)")
    if json.loads(lock.training_manifests) != list(inputs.training_manifests):
        found.append("training manifests checked for independence")
    return found


def lock(store: Store, inputs: LockInputs, actor: str, *, signer: Signer | None = None) -> tuple[ProtocolLock, bool]:
    """Freeze the protocol; (lock, newly created). The same inputs again return the existing lock."""
    p = inputs.protocol
    existing = find_lock(store, p.key)
    if existing is not None:
        changed = _compare(existing, inputs)
        if changed:
            raise QmsError(f"{p.key} is already locked with different content: {'; '.join(changed)}",
                           where=p.source, hint="a locked protocol never changes: give the change a new version")
        if signer is not None and existing.signature_id is None:
            raise QmsError(f"{p.key} is already locked without a signature, and a lock never changes",
                           where=p.source, hint="lock the protocol under a new version, signed")
        return existing, False
    statement = inputs.statement(actor)
    lock_sha256 = digest_of(statement)
    signature_id = signer(canonical_json(statement), f"protocol:{p.key}") if signer else None
    rec = ProtocolLock(
        protocol_id=p.id, protocol_version=p.version, title=p.title, text_sha256=p.text_sha256,
        content_sha256=p.content_sha256, content=canonical_json(p.content).decode(), path=p.source,
        model_ref=p.model_ref, model_sha256=inputs.model_sha256, manifest_path=str(inputs.manifest_path),
        manifest_sha256=inputs.manifest.sha256, training_manifests=canonical_json(list(inputs.training_manifests)).decode(),
        lock_sha256=lock_sha256, locked_by=actor, signature_id=signature_id,
    )
    with store.transaction() as session:
        session.add(rec)
        audit.append(session, audit.EventSpec(actor, "protocol.lock", f"protocol:{p.key}", after=lock_sha256,
                                              details={**statement, "signature_id": signature_id}))
    return rec, True


def check_run_inputs(lock: ProtocolLock, inputs: LockInputs, root: Path) -> None:
    """Refuse a run whose protocol, model, manifest or any data file differs from the lock; name it."""
    changed = _compare(lock, inputs)
    if changed:
        raise CheckFailed(f"the run's inputs differ from lock {lock.key}: {'; '.join(changed)}", where=inputs.protocol.source,
                          hint="a locked protocol runs only on what it locked; lock a new version to change it")
    inputs.manifest.verify_files(root / inputs.protocol.data_root)

