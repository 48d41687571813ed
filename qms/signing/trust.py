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

__all__ = ["CertificateCheck", "iso", "load_anchors", "parse_iso", "Revocation", "SUPERSEDED", "Trust", "TRUST_DIR",
           "UNTRUSTED_TIME"]

TRUST_DIR = "trust"


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_iso(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


SUPERSEDED = "superseded by a new key"
UNTRUSTED_TIME = "time not trusted: the signing time is self-reported (no RFC 3161 timestamp)"


@dataclass(frozen=True)
class Revocation:
    revoked_at: datetime
    reason: str

    @property
    def superseded(self) -> bool:
        """A rotation's withdrawal of a key not suspected of compromise (RFC 5280 reason superseded)."""
        return self.reason == SUPERSEDED


@dataclass(frozen=True)
class CertificateCheck:
    """A certificate at a moment: valid (in its validity period, not revoked) and trusted (a CA issued it).

    `warnings` name what does not fail the signature but limits what it proves (a self-reported time).
    """

    valid: bool
    trusted: bool
    reasons: tuple[str, ...]
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class Trust:
    """Anchors, registered certificates, revocations by certificate fingerprint and by CRL entry (issuer, serial).

    `require_trusted_time`: a signature without a verified RFC 3161 timestamp fails instead of
    carrying the "time not trusted" warning (the release policy when a TSA is configured).
    """

    anchors: tuple[x509.Certificate, ...]
    certificates: dict[str, x509.Certificate] = field(default_factory=dict)
    revocations: dict[str, Revocation] = field(default_factory=dict)
    listed: dict[tuple[bytes, int], Revocation] = field(default_factory=dict)
    require_trusted_time: bool = False

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

    def revocation_of(self, cert: x509.Certificate) -> Revocation | None:
        """The certificate's revocation, from the store's list or a CRL entry (the earliest when both know it)."""
        found = [r for r in (self.revocations.get(keys.fingerprint(cert)),
                             self.listed.get((cert.issuer.public_bytes(), cert.serial_number))) if r is not None]
        return min(found, key=lambda r: r.revoked_at) if found else None

    def check(self, cert: x509.Certificate, at: datetime, *, trusted_time: bool = False) -> CertificateCheck:
        """Judge `cert` as of `at`, the time of signing.

        With a trusted time (an RFC 3161 timestamp) a later revocation leaves the signature
        valid. A self-reported time proves nothing against a revocation: the key's holder can
        backdate it, so a revoked certificate fails whatever time it claims; only a rotation
        (superseded, no compromise) is judged by the claimed time, with a warning.
        """
        reasons: list[str] = []
        who = keys.subject_name(cert)
        if at < cert.not_valid_before_utc:
            reasons.append(f"the certificate of {who} was not yet valid at {iso(at)}")
        if at > cert.not_valid_after_utc:
            reasons.append(f"the certificate of {who} had expired at {iso(at)} (valid until {iso(cert.not_valid_after_utc)})")
        rev = self.revocation_of(cert)
        if rev is not None and (trusted_time or rev.superseded) and at >= rev.revoked_at:
            reasons.append(f"the certificate of {who} was revoked at {iso(rev.revoked_at)} ({rev.reason}), before this signature")
        elif rev is not None and not (trusted_time or rev.superseded):
            reasons.append(f"the certificate of {who} was revoked at {iso(rev.revoked_at)} ({rev.reason}) and the signing "
                           f"time {iso(at)} is self-reported: nothing shows the signature predates the revocation")
        warnings: tuple[str, ...] = ()
        if not trusted_time and self.require_trusted_time:
            reasons.append(UNTRUSTED_TIME)
        elif not trusted_time:
            warnings = (UNTRUSTED_TIME,)
        valid = not reasons
        issuer = next((a for a in self.anchors if keys.issued_by(cert, a)), None)
        trusted = issuer is not None and issuer.not_valid_before_utc <= at <= issuer.not_valid_after_utc
        if issuer is None:
            reasons.append(f"the certificate of {who} was issued by {cert.issuer.rfc4514_string()}, which is not a trusted CA")
        elif not trusted:
            reasons.append(f"the issuing CA {keys.subject_name(issuer)} was not valid at {iso(at)}")
        return CertificateCheck(valid, trusted, tuple(reasons), warnings)


def load_anchors(identity_dir: Path) -> tuple[x509.Certificate, ...]:
    folder = identity_dir / TRUST_DIR
    if not folder.is_dir():
        return ()
    return tuple(keys.load_certificate(p.read_bytes(), str(p)) for p in sorted(folder.glob("*.pem")))
