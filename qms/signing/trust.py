"""What a verifier trusts: CA certificates, the registered signer certificates, revocations.

Built from the record store and the trust folder of an identity directory, or from
explicit lists (an auditor's own CA file), so verification needs no network.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography import x509
from sqlmodel import col, select

from qms.signing import keys
from qms.signing.errors import SigningError
from qms.signing.records import SigningCertificate, SigningRevocation
from qms.store import Store

TRUST_DIR = "trust"


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_iso(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


@dataclass(frozen=True)
class Revocation:
    revoked_at: datetime
    reason: str


@dataclass(frozen=True)
class CertificateCheck:
    """A certificate at a moment: valid (in its validity period, not revoked) and trusted (a CA issued it)."""

    valid: bool
    trusted: bool
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class Trust:
    anchors: tuple[x509.Certificate, ...]
    certificates: dict[str, x509.Certificate] = field(default_factory=dict)
    revocations: dict[str, Revocation] = field(default_factory=dict)

    @classmethod
    def from_store(cls, store: Store, identity_dir: Path | None = None,
                   anchors: tuple[x509.Certificate, ...] = ()) -> Trust:
        """Registered certificates and revocations from the store; CAs from `identity_dir`/trust and `anchors`."""
        with store.reader() as session:
            certs = list(session.exec(select(SigningCertificate)))
            revs = list(session.exec(select(SigningRevocation).order_by(col(SigningRevocation.revoked_at))))
        registered = {c.fingerprint: keys.load_certificate(c.pem.encode(), f"signing_certificate:{c.id}") for c in certs}
        revocations: dict[str, Revocation] = {}
        for r in revs:
            revocations.setdefault(r.fingerprint, Revocation(parse_iso(r.revoked_at), r.reason))
        found = anchors + (load_anchors(identity_dir) if identity_dir is not None else ())
        return cls(found, registered, revocations)

    def revocation_list(self) -> list[dict[str, str]]:
        """The revocations as JSON, to ship beside signed artefacts (a bundle) for offline verification."""
        return [{"certificate": fp, "revoked_at": iso(r.revoked_at), "reason": r.reason}
                for fp, r in sorted(self.revocations.items())]

    @classmethod
    def from_revocation_list(cls, anchors: tuple[x509.Certificate, ...], items: Any, where: str) -> Trust:
        """A verifier's trust from CA certificates and a shipped revocation list; malformed entries are errors."""
        revocations: dict[str, Revocation] = {}
        try:
            for item in items:
                revocations[str(item["certificate"])] = Revocation(parse_iso(str(item["revoked_at"])), str(item["reason"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise SigningError(f"malformed revocation list: {exc}", where=where) from exc
        return cls(anchors, {}, revocations)

    def certificate(self, fp: str) -> x509.Certificate | None:
        return self.certificates.get(fp)

    def check(self, cert: x509.Certificate, at: datetime) -> CertificateCheck:
        """Judge `cert` as of `at`, the time of signing: a later revocation leaves earlier signatures valid."""
        reasons: list[str] = []
        who = keys.subject_name(cert)
        if at < cert.not_valid_before_utc:
            reasons.append(f"the certificate of {who} was not yet valid at {iso(at)}")
        if at > cert.not_valid_after_utc:
            reasons.append(f"the certificate of {who} had expired at {iso(at)} (valid until {iso(cert.not_valid_after_utc)})")
        rev = self.revocations.get(keys.fingerprint(cert))
        if rev is not None and at >= rev.revoked_at:
            reasons.append(f"the certificate of {who} was revoked at {iso(rev.revoked_at)} ({rev.reason}), before this signature")
        valid = not reasons
        issuer = next((a for a in self.anchors if keys.issued_by(cert, a)), None)
        trusted = issuer is not None and issuer.not_valid_before_utc <= at <= issuer.not_valid_after_utc
        if issuer is None:
            reasons.append(f"the certificate of {who} was issued by {cert.issuer.rfc4514_string()}, which is not a trusted CA")
        elif not trusted:
            reasons.append(f"the issuing CA {keys.subject_name(issuer)} was not valid at {iso(at)}")
        return CertificateCheck(valid, trusted, tuple(reasons))


def load_anchors(identity_dir: Path) -> tuple[x509.Certificate, ...]:
    folder = identity_dir / TRUST_DIR
    if not folder.is_dir():
        return ()
    return tuple(keys.load_certificate(p.read_bytes(), str(p)) for p in sorted(folder.glob("*.pem")))
