"""What the gate needs to know of a validation protocol: its latest lock, whether that lock is signed, its runs.

Read from the validation capability's records (`qms.validation.records`) and checked
against the signing capability: a lock record is a claim, its verified signature the proof.
Which lock is the latest and which run of it came last follow the audit trail's order, never
the rows' own times (which no event vouches for), and a run counts for a lock only when its
stored result (which its event does vouch for) names that lock.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlmodel import col, select

from qms.signing import SignatureRecord, Trust
from qms.signing.dsse import Envelope
from qms.store import Store
from qms.store.records import AuditEvent
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
    def of(cls, run: ValidationRun, result: dict[str, Any]) -> RunFacts:
        """The facts of `run`, whose stored result is `result` (parsed once by the caller)."""
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
    problems: tuple[str, ...] = ()
    """Rows that contradict the audit trail: a lock listed as latest that was not locked last, a run of another lock."""


def protocol_facts(store: Store, protocol_id: str) -> ProtocolFacts:
    """The latest lock of one protocol and its runs, oldest first."""
    found = latest_lock(store, protocol_id)
    if found is None:
        return ProtocolFacts(protocol_id, False, None, False, ())
    lock, runs = found
    seqs = _event_seqs(store, protocol_id, runs)
    problems = []
    last_locked = max((k for k in seqs if k.startswith("protocol:")), key=seqs.__getitem__, default=None)
    if last_locked not in (None, f"protocol:{lock.key}"):
        problems.append(f"lock {lock.key} (row {lock.id}) is listed as the latest, but the audit trail records "
                        f"{last_locked} locked after it: a validation_protocol_lock row's time was edited")
    results = {run.id: json.loads(run.result) for run in runs}
    for run in runs:
        stated = results[run.id].get("protocol", {})
        if run.protocol_key != lock.key or stated.get("lock_id") != lock.id:
            problems.append(f"run {run.id} is filed under lock {lock.key} (row {lock.id}), but its recorded result is "
                            f"of {stated.get('key')} (lock row {stated.get('lock_id')}): the validation_run row was edited")
    ordered = sorted(runs, key=lambda r: seqs.get(f"validation:{r.id}", 0))  # a run with no event: `qms.gate.grants`
    return ProtocolFacts(protocol_id, True, lock.created_at.isoformat(), _lock_signed(store, lock),
                         tuple(RunFacts.of(r, results[r.id]) for r in ordered), tuple(problems))


def _event_seqs(store: Store, protocol_id: str, runs: list[ValidationRun]) -> dict[str, int]:
    """The audit sequence number of each lock of the protocol (by object, `protocol:ID@VERSION`) and of each run."""
    objects = [f"validation:{r.id}" for r in runs]
    with store.reader() as session:
        locks = col(AuditEvent.object).startswith(f"protocol:{protocol_id}@", autoescape=True)
        rows = session.exec(select(AuditEvent.object, AuditEvent.seq).where(
            (col(AuditEvent.action) == "protocol.lock") & locks
            | (col(AuditEvent.action) == "validation.run") & col(AuditEvent.object).in_(objects))).all()
    return {obj: seq for obj, seq in rows}


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
