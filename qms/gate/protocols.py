"""What the gate needs to know of a validation protocol: its latest lock, whether that lock is signed, its runs.

Read from the validation capability's records (`qms.validation.records`) and checked
against the signing capability: a lock record is a claim, its verified signature the proof.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from qms.signing import SignatureRecord, Trust
from qms.signing.dsse import Envelope
from qms.store import Store
from qms.validation.records import ProtocolLock, ValidationRun, latest_lock

__all__ = ["ProtocolFacts", "RunFacts", "protocol_facts"]


@dataclass(frozen=True)
class RunFacts:
    """A validation run of a locked protocol, as the gate needs it."""

    id: str
    model: str
    passed: bool
    leakage: int
    started_at: str
    failed_criteria: tuple[str, ...]

    @classmethod
    def of(cls, run: ValidationRun) -> RunFacts:
        result = json.loads(run.result)
        overlap = result.get("independence", {}).get("overlap", {})
        leakage = max((int(v) for v in overlap.values()), default=0) if isinstance(overlap, dict) else 0
        return cls(run.id, run.model_ref, run.verdict == "pass", leakage, run.created_at.isoformat(),
                   tuple(str(r) for r in result.get("reasons", [])))


@dataclass(frozen=True)
class ProtocolFacts:
    """The latest lock of one protocol (when it was locked, whether its signature verifies) and its runs."""

    id: str
    locked: bool
    locked_at: str | None
    lock_signed: bool
    runs: tuple[RunFacts, ...]


def protocol_facts(store: Store, protocol_id: str) -> ProtocolFacts:
    """The latest lock of one protocol and its runs, oldest first."""
    found = latest_lock(store, protocol_id)
    if found is None:
        return ProtocolFacts(protocol_id, False, None, False, ())
    lock, runs = found
    return ProtocolFacts(protocol_id, True, lock.created_at.isoformat(), _lock_signed(store, lock),
                         tuple(RunFacts.of(r) for r in runs))


def _lock_signed(store: Store, lock: ProtocolLock) -> bool:
    """The lock's signature record signs exactly this lock statement and its envelope verifies."""
    if lock.signature_id is None:
        return False
    with store.reader() as session:
        rec = session.get(SignatureRecord, lock.signature_id)
    if rec is None or rec.sha256 != lock.lock_sha256:
        return False
    cert = Trust.from_store(store).certificate(rec.cert_fingerprint)
    return cert is not None and Envelope.from_text(rec.envelope, f"signature:{rec.id}").verify(cert)
