"""Records that grant power, cross-checked against the audit events that created them.

Users, their roles and certificates, revocations, protocol locks and signatures (a
signing roster is in force through its approval signature) decide who may sign and what a
run must match. Triggers keep their tables append-only, but someone with raw
database access can drop the triggers and edit a row (raise a role, delete a revocation)
without touching the audit chain. Every such row is written in the same transaction as
its audit event, and the event records what the row holds; so each row must match an
event and each event a row. A row that matches none was edited or inserted outside
qmskit, an event that matches no row lost its row.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlmodel import col, select

from qms.findings import Finding
from qms.hashing import digest_of
from qms.signing.records import SignatureRecord, SigningCertificate, SigningRevocation, SigningUser
from qms.signing.trust import SUPERSEDED
from qms.store import Store
from qms.store.records import AuditEvent
from qms.validation.records import ProtocolLock

__all__ = ["CHECK", "Grant", "grant_findings"]

CHECK = "audit"
_ACTIONS = ("user.add", "user.certificate", "user.rotate-key", "user.revoke", "protocol.lock", "signature.apply")


@dataclass(frozen=True, order=True)
class Grant:
    """What one row grants, in the terms its audit event records: table, whom or what, and the content."""

    table: str
    key: str
    content: str


def _details(event: AuditEvent) -> dict[str, Any]:
    try:
        data = json.loads(event.details)
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _from_events(events: Sequence[AuditEvent]) -> Iterator[Grant]:
    """The grants each event says it made (a rotation supersedes the old certificate unless it was revoked already)."""
    revoked = {_details(e).get("certificate") for e in events if e.action == "user.revoke"}
    for e in events:
        d = _details(e)
        if e.action == "user.add":
            yield Grant("signing_user", e.object, digest_of({"name": d.get("name"), "role": d.get("role")}))
        elif e.action in ("user.certificate", "user.rotate-key"):
            yield Grant("signing_certificate", e.object, str(e.after_digest))
            if d.get("supersedes") and d["supersedes"] not in revoked:
                yield Grant("signing_revocation", f"{e.object} certificate {d['supersedes']}", SUPERSEDED)
        elif e.action == "user.revoke":
            yield Grant("signing_revocation", f"{e.object} certificate {d.get('certificate')}",
                        digest_of({"reason": d.get("reason"), "revoked_at": d.get("revoked_at")}))
        elif e.action == "protocol.lock":
            yield Grant("validation_protocol_lock", e.object, str(e.after_digest))
        elif e.action == "signature.apply":
            yield Grant("signature", f"signature:{d.get('signature')}", _signed(
                e.object, e.after_digest, d.get("user_id"), d.get("meaning"), d.get("signed_at"), d.get("certificate"),
                d.get("kind"), d.get("output_sha256"), d.get("interactive")))


def _signed(*fields: Any) -> str:
    """A signature's content as its event records it: object, bytes, signer, meaning, time, key, kind, output, interactive."""
    return digest_of(list(fields))


def _lock_statement(lock: ProtocolLock) -> dict[str, Any]:
    """The lock statement the row stands for (`qms.validation.lock.LockInputs.statement`), rebuilt from the row."""
    return {"protocol": lock.key, "text_sha256": lock.text_sha256, "content_sha256": lock.content_sha256,
            "model_ref": lock.model_ref, "model_sha256": lock.model_sha256, "manifest_sha256": lock.manifest_sha256,
            "training_manifests": json.loads(lock.training_manifests), "locked_by": lock.locked_by}


def _revocation(r: SigningRevocation) -> Grant:
    key = f"user:{r.user_id} certificate {r.fingerprint}"
    if r.reason == SUPERSEDED:
        return Grant("signing_revocation", key, SUPERSEDED)
    return Grant("signing_revocation", key, digest_of({"reason": r.reason, "revoked_at": r.revoked_at}))


def _signature(r: SignatureRecord) -> Grant:
    meaning = r.reason if r.reason is not None else r.meaning  # the words the event records (`Meaning.text`)
    return Grant("signature", f"signature:{r.id}", _signed(r.object_ref, r.sha256, r.user_id, meaning, r.signed_at,
                                                           r.cert_fingerprint, r.kind, r.output_sha256, r.interactive))


_ROWS: tuple[tuple[type[Any], Callable[[Any], Grant]], ...] = (
    (SigningUser, lambda u: Grant("signing_user", f"user:{u.user_id}", digest_of({"name": u.name, "role": u.role}))),
    (SigningCertificate, lambda c: Grant("signing_certificate", f"user:{c.user_id}", c.fingerprint)),
    (SigningRevocation, _revocation),
    (ProtocolLock, lambda lock: Grant("validation_protocol_lock", f"protocol:{lock.key}", digest_of(_lock_statement(lock)))),
    (SignatureRecord, _signature),
)


def grant_findings(store: Store) -> tuple[list[Finding], int]:
    """Every grant row without its event and every grant event without its row; and how many rows were examined."""
    with store.reader() as session:
        events = session.exec(select(AuditEvent).where(col(AuditEvent.action).in_(_ACTIONS))).all()
        recorded = Counter(_from_events(events))
        present: Counter[Grant] = Counter()
        for table, grant in _ROWS:
            present.update(grant(row) for row in session.exec(select(table)).all())
    unmatched_rows, lost_rows = present - recorded, recorded - present
    lost_keys = {(g.table, g.key) for g in lost_rows}
    out = []
    for g in sorted(unmatched_rows):
        how = ("differs from what its audit event recorded: the row was edited" if (g.table, g.key) in lost_keys
               else "has no audit event: the row was inserted outside qmskit")
        out.append(Finding(CHECK, f"{g.table} {g.key}", f"the {g.table} row {how}",
                           "restore the table from backup and investigate who changed it (21 CFR 11.10(e))"))
    edited = {(g.table, g.key) for g in unmatched_rows}
    for g in sorted(lost_rows):
        if (g.table, g.key) not in edited:
            out.append(Finding(CHECK, f"{g.table} {g.key}", f"the audit trail records this {g.table} row, but the "
                               "row is missing: it was deleted", "restore the table from backup and investigate"))
    return out, sum(present.values())
