"""Certificate revocation lists (RFC 5280 §5): the store's revocations, signed by the CA, for verifiers without the store.

`issue_crl` lists every revoked certificate the self-managed CA issued, with its revocation
time and reason (superseded for a key rotation, unspecified otherwise); it is published in
QMS_HOME/crl (at once after each revocation where the CA key is kept:
`publish_after_revocation`), shipped in bundles and embedded in PAdES signatures (B-LT).
`read_crl` accepts a CRL only when a trusted CA signed it; `with_crl` adds its entries to a
verifier's trust.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from sqlmodel import select

from qms import atomic
from qms.signing import keys
from qms.signing.errors import SigningError
from qms.signing.identity import ca_key_pair, self_managed_ca
from qms.signing.records import SigningCertificate, SigningRevocation
from qms.signing.trust import SUPERSEDED, Revocation, Trust, iso, load_anchors, parse_iso
from qms.store import Store

__all__ = ["CRL_DAYS", "crl_der", "current_crl", "describe", "issue_crl", "publish_after_revocation", "published_crls",
           "read_crl", "with_crl"]

CRL_DIR = "crl"
CRL_DAYS = 7


def _entry(serial: int, rev: SigningRevocation) -> x509.RevokedCertificate:
    flag = x509.ReasonFlags.superseded if rev.reason == SUPERSEDED else x509.ReasonFlags.unspecified
    return (x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(parse_iso(rev.revoked_at))
            .add_extension(x509.CRLReason(flag), critical=False).build())


def _revoked(store: Store, issuer: x509.Name) -> list[tuple[SigningCertificate, SigningRevocation]]:
    """Every revoked certificate `issuer` issued, with its earliest revocation."""
    with store.reader() as session:
        certs = {c.fingerprint: c for c in session.exec(select(SigningCertificate))}
        revocations = list(session.exec(select(SigningRevocation)))
    found: dict[str, tuple[SigningCertificate, SigningRevocation]] = {}
    for rev in sorted(revocations, key=lambda r: r.revoked_at, reverse=True):
        cert = certs.get(rev.fingerprint)
        if cert is not None and cert.issuer == issuer.rfc4514_string():
            found[cert.fingerprint] = (cert, rev)
    return list(found.values())


def current_crl(store: Store, directory: Path) -> bytes | None:
    """The newest published CRL (None when none is), refused when it misses a revocation the store holds."""
    paths = published_crls(directory)
    if not paths:
        return None
    anchors = load_anchors(directory)
    newest, path = max(((read_crl(p.read_bytes(), anchors, str(p)), p) for p in paths), key=lambda c: c[0].last_update_utc)
    listed = {entry.serial_number for entry in newest}
    missing = sorted(cert.user_id for cert, _ in _revoked(store, newest.issuer) if int(cert.serial, 16) not in listed)
    if missing:
        raise SigningError(f"the published revocation list misses the revocation of {', '.join(missing)}", where=str(path),
                           hint="issue a current one with `qms ca crl`")
    return crl_der(newest)


def issue_crl(store: Store, directory: Path, ca_passphrase: str, *, days: int = CRL_DAYS,
              now: datetime | None = None) -> x509.CertificateRevocationList:
    """Sign a CRL of every revocation in the store of a certificate this CA issued, and publish it in `directory`/crl."""
    ca_key, ca_cert = ca_key_pair(directory, ca_passphrase)
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    entries = {int(cert.serial, 16): _entry(int(cert.serial, 16), rev) for cert, rev in _revoked(store, ca_cert.subject)}
    ski = ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    builder = (x509.CertificateRevocationListBuilder().issuer_name(ca_cert.subject)
               .last_update(moment).next_update(moment + timedelta(days=days))
               .add_extension(x509.CRLNumber(int(moment.timestamp() * 1000)), critical=False)
               .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False))
    for serial in sorted(entries):
        builder = builder.add_revoked_certificate(entries[serial])
    crl = builder.sign(ca_key, hashes.SHA256())
    atomic.write_bytes(directory / CRL_DIR / f"{keys.fingerprint(ca_cert)[:16]}.crl", crl_der(crl))
    return crl


def publish_after_revocation(store: Store, directory: Path, ca_passphrase: str) -> x509.CertificateRevocationList | None:
    """A revocation (or a rotation's) publishes a new CRL at once where this directory holds the CA, so a bundle sealed
    after it carries the revocation and fails `bundle verify` anywhere; None where the CA is kept elsewhere."""
    return issue_crl(store, directory, ca_passphrase) if self_managed_ca(directory) else None


def crl_der(crl: x509.CertificateRevocationList) -> bytes:
    return crl.public_bytes(serialization.Encoding.DER)


def published_crls(directory: Path) -> tuple[Path, ...]:
    """The CRLs published (or imported) in an identity directory."""
    folder = directory / CRL_DIR
    return tuple(sorted(folder.glob("*.crl"))) if folder.is_dir() else ()


def read_crl(data: bytes, anchors: Iterable[x509.Certificate], where: str) -> x509.CertificateRevocationList:
    """A CRL (DER or PEM) that a trusted CA signed; any other is refused, naming its issuer."""
    try:
        crl = (x509.load_pem_x509_crl(data) if b"-----BEGIN X509 CRL-----" in data else x509.load_der_x509_crl(data))
    except ValueError as exc:
        raise SigningError("not a readable certificate revocation list", where=where) from exc
    for anchor in anchors:
        if anchor.subject == crl.issuer and crl.is_signature_valid(anchor.public_key()):  # type: ignore[arg-type]
            return crl
    raise SigningError(f"the revocation list is signed by {crl.issuer.rfc4514_string()}, which is not a trusted CA",
                       where=where, hint="a revocation list counts only when the CA that issued the certificates signed it")


def _reason(entry: x509.RevokedCertificate) -> str:
    try:
        flag = entry.extensions.get_extension_for_class(x509.CRLReason).value.reason
    except x509.ExtensionNotFound:
        return "revoked (CRL)"
    return SUPERSEDED if flag is x509.ReasonFlags.superseded else f"revoked (CRL: {flag.value})"


def with_crl(trust: Trust, data: bytes, where: str) -> Trust:
    """`trust` with the entries of a CRL added, once a trusted CA is found to have signed it."""
    crl = read_crl(data, trust.anchors, where)
    issuer = crl.issuer.public_bytes()
    listed = dict(trust.listed)
    for entry in crl:
        key = (issuer, entry.serial_number)
        rev = Revocation(entry.revocation_date_utc, _reason(entry))
        if key not in listed or rev.revoked_at < listed[key].revoked_at:
            listed[key] = rev
    return dataclasses.replace(trust, listed=listed)


def describe(crl: x509.CertificateRevocationList) -> dict[str, object]:
    """What `qms ca crl` reports about a CRL it issued."""
    return {"issuer": crl.issuer.rfc4514_string(), "this_update": iso(crl.last_update_utc),
            "next_update": iso(crl.next_update_utc) if crl.next_update_utc else None, "revoked": len(crl)}
