"""Approving a signing roster, and checking an approval offline: authority nobody can grant themselves.

A roster is approved by a quality-role person: their signature (meaning approved) over the
roster's canonical bytes, stored with its audit event like every signature. Two things must
both say "quality" (§11.10(g), §11.100):
1. the certificate, issued by the CA, names the role quality (X.520 title; `keys.subject_role`);
2. the roster itself lists its approver as a person holding the quality duty. This is the
   bootstrap rule: the first roster is approved by a quality person it names, and every later
   roster the same way; the CA's role statement is what keeps anyone else from writing
   themselves in.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography import x509
from sqlmodel import col, select

from qms.signing import keys
from qms.signing.errors import SigningError
from qms.signing.identity import identity
from qms.signing.meaning import Role, SignatureMeaning
from qms.signing.records import SignatureRecord
from qms.signing.roster import Duty, IdentityKind, Roster
from qms.signing.sign import detached, read_detached, sign_bytes, verify_record
from qms.signing.signatory import Signatory
from qms.signing.trust import Trust
from qms.store import Store

__all__ = ["ROSTER_OBJECT", "approval_document", "approve_roster", "approved_roster", "approver_problem", "check_approval"]

ROSTER_OBJECT = "signing-roster"


def approver_problem(roster: Roster, user_id: str | None, cert: x509.Certificate) -> str | None:
    """Why `user_id` (signing with `cert`) may not approve `roster`, or None when they may."""
    role = keys.subject_role(cert)
    if role != Role.QUALITY.value:
        return (f"{user_id} may not approve the roster: their certificate states the role {role or '(none)'}, "
                "not quality")
    entry = roster.identities.get(user_id or "")
    if entry is None or entry.kind is not IdentityKind.PERSON or Duty.QUALITY not in entry.duties:
        return f"{user_id} may not approve the roster: it does not list them as a person with the quality duty"
    return None


def approve_roster(store: Store, identity_dir: Path, signatory: Signatory, roster: Roster, *,
                   now: datetime | None = None) -> SignatureRecord:
    """Sign the roster as approved, as a quality person it names; the signature and its audit event are stored."""
    ident = identity(store, identity_dir, signatory.user_id)
    problem = approver_problem(roster, signatory.user_id, ident.certificate)
    if problem is not None:
        raise SigningError(problem, where=roster.source, hint="a quality person named in the roster approves it")
    return sign_bytes(store, identity_dir, signatory.user_id, signatory.passphrase, roster.canonical(),
                      SignatureMeaning.APPROVED, f"{ROSTER_OBJECT}:{roster.digest[:16]}", now=now)


def approved_roster(store: Store, identity_dir: Path, roster: Roster) -> SignatureRecord:
    """The stored approval of exactly this roster that still verifies; an unapproved roster is a clear error."""
    with store.reader() as session:
        records = list(session.exec(select(SignatureRecord).where(SignatureRecord.sha256 == roster.digest)
                                    .where(col(SignatureRecord.object_ref).startswith(f"{ROSTER_OBJECT}:"))
                                    .order_by(col(SignatureRecord.created_at).desc())))
    trust = Trust.from_store(store, identity_dir)
    for rec in records:
        ident = identity(store, identity_dir, rec.user_id)
        if (rec.meaning == SignatureMeaning.APPROVED.value and verify_record(rec, roster.canonical(), trust).ok
                and approver_problem(roster, rec.user_id, trust.certificate(rec.cert_fingerprint) or ident.certificate)
                is None):
            return rec
    raise SigningError("this signing roster is not approved", where=roster.source,
                       hint="a quality person it names approves it: `qms roster approve --user ID`")


def approval_document(store: Store, identity_dir: Path, rec: SignatureRecord) -> dict[str, Any]:
    """The approval as a detached signature file (envelope and certificate) to carry in a bundle."""
    trust = Trust.from_store(store, identity_dir)
    cert = trust.certificate(rec.cert_fingerprint) or identity(store, identity_dir, rec.user_id).certificate
    return detached(rec, cert)


def check_approval(roster_bytes: bytes, approval: Any, trust: Trust, where: str, *,
                   proven_by: datetime | None = None) -> tuple[Roster | None, list[str]]:
    """Offline: the roster parses, its approval signature verifies to a trusted CA, and its approver may approve it.

    `proven_by` is a trusted time (an RFC 3161 timestamp over a signature that covers the approval,
    such as a bundle's seal) by which the approval existed: its certificate is judged then, so
    a revocation after it leaves the approval standing. Without it the approval's own claimed
    time is judged, and any revocation fails it.
    """
    try:
        roster = Roster.from_json(json.loads(roster_bytes), where)
        found = read_detached(approval, where)
    except (ValueError, SigningError) as exc:
        return None, [f"the signing roster or its approval is unreadable: {getattr(exc, 'message', exc)}"]
    if roster.canonical() != roster_bytes:
        return None, ["the signing roster is not in its canonical form: it is not the bytes that were approved"]
    cert = found.certificate
    status = found.verify(roster_bytes, replace(trust, require_trusted_time=False), where)
    reasons = status.reasons
    ok = status.ok
    if proven_by is not None and status.intact:
        check = trust.check(cert, proven_by, trusted_time=True)
        reasons = check.reasons  # intact: every reason the status gave was about the certificate at the claimed time
        ok = check.valid and check.trusted and not reasons
    problems = [f"the roster approval does not verify: {r}" for r in reasons]
    if not str(status.object_ref or "").startswith(f"{ROSTER_OBJECT}:") or status.meaning != SignatureMeaning.APPROVED.value:
        problems.append(f"the roster's signature is {status.meaning!r} of {status.object_ref!r}, not an approval of a roster")
    problem = approver_problem(roster, status.user_id, cert)
    if problem is not None:
        problems.append(problem)
    return (roster if not problems and ok else None), problems
