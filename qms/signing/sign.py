"""Signing any record's bytes, and verifying such a signature offline.

A signature is a DSSE envelope over a statement naming the object, the sha256 of the
exact bytes signed, the signer's printed name and user id, the UTC time and the meaning
(§11.50(a)); the signature value covers all of it, so it cannot be moved to other bytes
or given another meaning (§11.70). With a TSA configured, an RFC 3161 token over the
signature bytes goes with it (in the record and the detached file): a verifier then judges
the certificate, revocation included, at that trusted time, not at the signer's claim.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography import x509

from qms import audit, checkpoint_log
from qms.hashing import canonical_json, sha256_hex
from qms.signing import keys
from qms.signing.dsse import Envelope, seal
from qms.signing.errors import SigningError, WrongPassphrase
from qms.signing.identity import Identity, identity
from qms.signing.lockout import check_not_locked, record_failure
from qms.signing.meaning import Meaning, Role, SignatureMeaning
from qms.signing.records import SignatureRecord
from qms.signing.status import SignatureStatus, failed
from qms.signing.trust import Trust, iso, parse_iso
from qms.store import Store

__all__ = ["Detached", "detached", "DETACHED_KIND", "envelope_time", "PAYLOAD_TYPE", "read_detached", "record_signature",
           "sign_bytes", "stamp_envelope", "statement", "STATEMENT_TYPE", "unlock", "Unlocked", "verify_envelope",
           "verify_record"]

PAYLOAD_TYPE = "application/vnd.qmskit.signature+json"
STATEMENT_TYPE = "qms-signature/v1"
DETACHED_KIND = "qms-detached-signature/v1"


@dataclass(frozen=True)
class Unlocked:
    """An identity whose key was just decrypted for one signature."""

    identity: Identity
    key: keys.PrivateKey
    meaning: Meaning
    interactive: bool
    signed_at: datetime

    @property
    def signed_at_text(self) -> str:
        return iso(self.signed_at)


def unlock(store: Store, identity_dir: Path, user_id: str, passphrase: str, meaning: Meaning | SignatureMeaning | str,
           *, non_interactive: bool = False, now: datetime | None = None) -> Unlocked:
    """Check the signer may sign with this meaning now, then decrypt the key (§11.200(a): id + passphrase)."""
    ident = identity(store, identity_dir, user_id)
    parsed = Meaning.of(meaning)
    ident.role.check(parsed, user_id)
    if non_interactive and ident.role is not Role.SERVICE:
        raise SigningError(f"user {user_id} is a person: a person's passphrase is typed at each signing",
                           where=f"user:{user_id}", hint="only a service identity signs non-interactively (§11.200(a))")
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    if ident.revoked:
        raise SigningError(f"the certificate of {user_id} is revoked: it can no longer sign", where=f"user:{user_id}",
                           hint="an administrator issues a new key with `qms user rotate-key`")
    cert = ident.certificate
    if not cert.not_valid_before_utc <= moment <= cert.not_valid_after_utc:
        raise SigningError(f"the certificate of {user_id} is not valid now (valid {iso(cert.not_valid_before_utc)} to "
                           f"{iso(cert.not_valid_after_utc)})", where=f"user:{user_id}", hint="rotate the key")
    stated = keys.subject_role(cert)
    if stated is not None and stated != ident.role.value:
        raise SigningError(f"the record store gives {user_id} the role {ident.role.value}, their certificate {stated}",
                           where=f"user:{user_id}", hint="a role is changed by issuing a new certificate, never in the store")
    check_not_locked(store, user_id, moment)
    try:
        key = keys.load_key(ident.key_path, passphrase)
    except WrongPassphrase:
        record_failure(store, user_id, ident.fingerprint, moment)
        raise
    keys.check_key_matches(key, cert, str(ident.key_path))
    return Unlocked(ident, key, parsed, ident.role is not Role.SERVICE, moment)


def statement(signer: Unlocked, object_ref: str, sha256: str, kind: str) -> dict[str, Any]:
    ident = signer.identity
    return {
        "_type": STATEMENT_TYPE, "object": object_ref, "sha256": sha256, "kind": kind,
        "signer": {"user_id": ident.user_id, "name": ident.name, "role": ident.role.value},
        "meaning": signer.meaning.kind.value, "reason": signer.meaning.reason, "signed_at": signer.signed_at_text,
        "interactive": signer.interactive, "certificate": ident.fingerprint,
    }


def stamp_envelope(tsa: str | None, identity_dir: Path, envelope: Envelope, where: str) -> str | None:
    """The RFC 3161 token (base64) over the envelope's signature bytes when a TSA is configured (pyHanko loads only then)."""
    if not tsa:
        return None
    from qms.signing.timestamp import stamp_signature

    return stamp_signature(tsa, identity_dir, envelope.sig, where)


def envelope_time(token: object, envelope: Envelope, trust: Trust, where: str) -> tuple[datetime | None, tuple[str, ...]]:
    """The trusted time of a token over the envelope's signature (None without a token), and why it is not trusted."""
    if token is None:
        return None, ()
    from qms.signing.timestamp import trusted_time

    return trusted_time(token, envelope.sig, trust, where)


def record_signature(store: Store, signer: Unlocked, object_ref: str, sha256: str, kind: str, *,
                     output_sha256: str | None = None, actor: str | None = None,
                     timestamp: Callable[[Envelope], str | None] | None = None) -> SignatureRecord:
    """Seal the statement and append it with its audit event in one transaction (§11.50, §11.70).

    `timestamp` gives the RFC 3161 token over the sealed envelope, kept with the record.
    """
    if not object_ref or len(object_ref) > 300:
        raise SigningError("the object reference must be 1-300 characters", where=object_ref[:40] or "(empty)")
    body = statement(signer, object_ref, sha256, kind)
    envelope = seal(signer.key, signer.identity.certificate, PAYLOAD_TYPE, canonical_json(body))
    token = timestamp(envelope) if timestamp is not None else None
    ident = signer.identity
    rec = SignatureRecord(
        user_id=ident.user_id, printed_name=ident.name, role=ident.role.value, meaning=signer.meaning.kind.value,
        reason=signer.meaning.reason, signed_at=signer.signed_at_text, object_ref=object_ref, sha256=sha256,
        output_sha256=output_sha256, kind=kind, interactive=signer.interactive, cert_fingerprint=ident.fingerprint,
        envelope=envelope.to_text(), timestamp=token,
    )
    with store.transaction() as session:
        session.add(rec)
        session.flush()
        # The actor is the signer, authenticated by the passphrase just typed; who ran the command is unverified
        # (an OS name), so it is only a detail (§11.10(e): the trail names who acted).
        audit.append(session, audit.EventSpec(ident.user_id, "signature.apply", object_ref, after=sha256, details={
            "signature": rec.id, "user_id": ident.user_id, "name": ident.name, "meaning": signer.meaning.text,
            "signed_at": rec.signed_at, "kind": kind, "interactive": signer.interactive,
            "certificate": ident.fingerprint, "output_sha256": output_sha256, "timestamped": token is not None,
            **({"invoked_by": actor} if actor and actor != ident.user_id else {})}))
    checkpoint_log.after_critical(store)  # a signature is release-critical: checkpointed at once (#14 item 5)
    return rec


def sign_bytes(store: Store, identity_dir: Path, user_id: str, passphrase: str, data: bytes,
               meaning: Meaning | SignatureMeaning | str, object_ref: str, *, non_interactive: bool = False,
               actor: str | None = None, now: datetime | None = None, tsa: str | None = None) -> SignatureRecord:
    """Sign `data` as `user_id`, meaning `meaning`, for the record named `object_ref`.

    The passphrase is required at every call (§11.200(a)); a wrong one raises
    WrongPassphrase and is audited, and nothing is signed. The returned record is already
    in the store with its audit event; `record.envelope` verifies with `verify_record`.
    With `tsa` ("local" or a URL) the record carries an RFC 3161 token over the signature: its trusted time.
    """
    signer = unlock(store, identity_dir, user_id, passphrase, meaning, non_interactive=non_interactive, now=now)
    return record_signature(store, signer, object_ref, sha256_hex(data), "bytes", actor=actor,
                            timestamp=lambda env: stamp_envelope(tsa, identity_dir, env, object_ref))


def _status(envelope: Envelope, cert: x509.Certificate | None, digest: str, trust: Trust,
            expected_object: str | None, where: str, token: object) -> SignatureStatus:
    if cert is None:
        return failed(f"the signing certificate {envelope.keyid[:16]} is neither registered nor attached", certificate=envelope.keyid)
    try:
        body = envelope.payload_json(where)
    except SigningError as exc:
        return failed(exc.message, certificate=envelope.keyid)
    signer = body.get("signer") if isinstance(body.get("signer"), dict) else {}
    assert isinstance(signer, dict)
    reasons: list[str] = []
    sig_ok = envelope.payload_type == PAYLOAD_TYPE and body.get("_type") == STATEMENT_TYPE and envelope.verify(cert)
    if not sig_ok:
        reasons.append("the signature value does not verify: the statement was altered or signed with another key")
    if body.get("sha256") != digest:
        reasons.append(f"the bytes differ from those signed (sha256 {digest[:16]}…, signed {str(body.get('sha256'))[:16]}…)")
    if expected_object is not None and body.get("object") != expected_object:
        reasons.append(f"the signature is of {body.get('object')!r}, not of {expected_object!r}")
    if keys.subject_user_id(cert) not in (None, signer.get("user_id")):
        reasons.append(f"the certificate is of user {keys.subject_user_id(cert)}, the statement names {signer.get('user_id')}")
    intact = not reasons
    try:
        at = parse_iso(str(body.get("signed_at")))
    except ValueError:
        return failed("the signing time is unreadable", certificate=envelope.keyid)
    trusted_at, token_reasons = envelope_time(token, envelope, trust, f"{where} timestamp")
    reasons += token_reasons
    check = trust.check(cert, trusted_at or at, trusted_time=trusted_at is not None)
    reason = body.get("reason")
    return SignatureStatus(
        intact=intact, valid=check.valid and sig_ok and not token_reasons, trusted=check.trusted, signer=signer.get("name"),
        user_id=signer.get("user_id"), meaning=str(reason) if reason else body.get("meaning"),
        signed_at=body.get("signed_at"), object_ref=body.get("object"), sha256=body.get("sha256"),
        interactive=body.get("interactive"), certificate=envelope.keyid, reasons=tuple(reasons) + check.reasons,
        time_trusted=trusted_at is not None, warnings=check.warnings,
        timestamped_at=None if trusted_at is None else iso(trusted_at),
    )


def verify_envelope(envelope: Envelope, data: bytes, trust: Trust, *, expected_object: str | None = None,
                    certificate: x509.Certificate | None = None, where: str = "signature",
                    timestamp: object = None) -> SignatureStatus:
    """Verify a signature envelope against the bytes presented, offline; `timestamp` is its RFC 3161 token (base64)."""
    cert = trust.certificate(envelope.keyid) or certificate
    return _status(envelope, cert, sha256_hex(data), trust, expected_object, where, timestamp)


def verify_record(rec: SignatureRecord, data: bytes, trust: Trust) -> SignatureStatus:
    """Verify a stored signature against the bytes presented (for a PDF: the revision it signed)."""
    env = Envelope.from_text(rec.envelope, f"signature:{rec.id}")
    return verify_envelope(env, data, trust, expected_object=rec.object_ref, where=f"signature:{rec.id}",
                           timestamp=rec.timestamp)


def detached(rec: SignatureRecord, cert: x509.Certificate) -> dict[str, Any]:
    """A signature file to keep beside the signed file: the envelope, the signer's certificate, its timestamp if any."""
    return {"kind": DETACHED_KIND, "object": rec.object_ref, "envelope": Envelope.from_text(rec.envelope, rec.id).to_json(),
            "certificate": keys.cert_pem(cert), **({"timestamp": rec.timestamp} if rec.timestamp else {})}


@dataclass(frozen=True)
class Detached:
    """A detached signature file as read: the envelope, the signer's certificate, and the RFC 3161 token if any."""

    envelope: Envelope
    certificate: x509.Certificate
    timestamp: str | None

    def verify(self, data: bytes, trust: Trust, where: str) -> SignatureStatus:
        return verify_envelope(self.envelope, data, trust, certificate=self.certificate, where=where,
                               timestamp=self.timestamp)


def read_detached(doc: Any, where: str) -> Detached:
    if not isinstance(doc, dict) or doc.get("kind") != DETACHED_KIND:
        raise SigningError(f"not a {DETACHED_KIND} file", where=where)
    cert = keys.load_certificate(str(doc.get("certificate", "")).encode(), where)
    token = doc.get("timestamp")
    return Detached(Envelope.from_json(doc.get("envelope"), where), cert, None if token is None else str(token))
