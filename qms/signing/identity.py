"""Identities: the organisation CA, users, their keys and certificates, rotation, revocation.

The registry (who, which certificate, which revocations) is in the record store, with
an audit event for each change; the encrypted private keys are in the identity
directory (the user's QMS_HOME), never in a repository.

Layout of the identity directory:
    ca/ca.key.pem, ca/ca.cert.pem    the self-managed CA (`qms ca init`), key encrypted
    trust/<fingerprint>.pem          CA certificates whose signer certificates are trusted
    users/<user id>/<fp16>.key.pem   a user's encrypted keys, by certificate fingerprint
    users/<user id>/<fp16>.cert.pem  ... and their certificates
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import load_pem_private_key, pkcs12
from sqlmodel import Session, col, select

from qms import atomic, audit
from qms.signing import keys
from qms.signing.errors import SigningError
from qms.signing.meaning import Role
from qms.signing.records import SigningCertificate, SigningRevocation, SigningUser
from qms.signing.trust import SUPERSEDED, TRUST_DIR, iso, load_anchors
from qms.store import Store

__all__ = ["add_user", "CA_DAYS", "ca_key_pair", "check_user_id", "Identity", "identity", "import_ca", "import_user",
           "init_ca", "list_users", "revoke", "rotate_key", "self_managed_ca", "USER_DAYS", "USER_ID", "user_paths"]

USER_ID = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
CA_DAYS = 3650
USER_DAYS = 730


def _now(now: datetime | None) -> datetime:
    return (now or datetime.now(UTC)).astimezone(UTC)


def _ca_paths(directory: Path) -> tuple[Path, Path]:
    return directory / "ca" / "ca.key.pem", directory / "ca" / "ca.cert.pem"


def self_managed_ca(directory: Path) -> bool:
    """Whether this identity directory holds a CA's key (`qms ca init`), which signs its revocation lists."""
    return all(p.exists() for p in _ca_paths(directory))


def user_paths(directory: Path, user_id: str, fp: str) -> tuple[Path, Path]:
    base = directory / "users" / user_id / fp[:16]
    return base.with_suffix(".key.pem"), base.with_suffix(".cert.pem")


def check_user_id(user_id: str) -> None:
    if not USER_ID.match(user_id):
        raise SigningError(f"invalid user id {user_id!r}", hint="2-64 characters: a-z, 0-9, '.', '_', '-', starting with a letter or digit")


def _trust(directory: Path, cert: x509.Certificate) -> None:
    path = directory / TRUST_DIR / f"{keys.fingerprint(cert)[:16]}.pem"
    if not path.exists():
        atomic.write_text(path, keys.cert_pem(cert))


def init_ca(directory: Path, organisation: str, passphrase: str, *, days: int = CA_DAYS,
            now: datetime | None = None) -> x509.Certificate:
    """Create the self-managed organisation CA; its key is encrypted and meant to be kept offline."""
    keys.check_new_passphrase(passphrase, "CA")
    key_path, cert_path = _ca_paths(directory)
    if key_path.exists() or cert_path.exists():
        raise SigningError("a CA already exists here", where=str(key_path.parent), hint="one CA per identity directory")
    key = keys.generate_key()
    cert = keys.make_ca_certificate(key, organisation, _now(now) - timedelta(minutes=5), days)
    atomic.write_private(key_path, keys.encrypted_pem(key, passphrase))
    atomic.write_text(cert_path, keys.cert_pem(cert))
    _trust(directory, cert)
    return cert


def import_ca(directory: Path, data: bytes, where: str) -> x509.Certificate:
    """Trust an existing organisation CA's certificate (PEM or DER)."""
    cert = keys.load_certificate(data, where)
    try:
        is_ca = cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    except x509.ExtensionNotFound:
        is_ca = False
    if not is_ca:
        raise SigningError("this certificate is not a CA certificate (no basicConstraints cA=TRUE)", where=where)
    _trust(directory, cert)
    return cert


def ca_key_pair(directory: Path, ca_passphrase: str) -> tuple[keys.PrivateKey, x509.Certificate]:
    """The self-managed CA's key (decrypted with its passphrase) and certificate, checked to match."""
    key_path, cert_path = _ca_paths(directory)
    if not cert_path.exists():
        raise SigningError("no self-managed CA here", where=str(cert_path.parent),
                           hint="run `qms ca init`, or import a CA-issued certificate with `qms user add --cert`")
    cert = keys.load_certificate(cert_path.read_bytes(), str(cert_path))
    key = keys.load_key(key_path, ca_passphrase)
    keys.check_key_matches(key, cert, str(key_path))
    return key, cert


@dataclass(frozen=True)
class Identity:
    """A registered user with the certificate that signs now and where its key is."""

    user_id: str
    name: str
    role: Role
    certificate: x509.Certificate
    key_path: Path
    revoked: bool

    @property
    def fingerprint(self) -> str:
        return keys.fingerprint(self.certificate)


def _current(session: Session, user_id: str) -> tuple[SigningUser | None, SigningCertificate | None]:
    user = session.exec(select(SigningUser).where(SigningUser.user_id == user_id)
                        .order_by(col(SigningUser.created_at).desc())).first()
    cert = session.exec(select(SigningCertificate).where(SigningCertificate.user_id == user_id)
                        .order_by(col(SigningCertificate.created_at).desc())).first()
    return user, cert


def _revoked(session: Session, fp: str) -> SigningRevocation | None:
    return session.exec(select(SigningRevocation).where(SigningRevocation.fingerprint == fp)).first()


def _register(session: Session, user_id: str, cert: x509.Certificate, actor: str, action: str, now: datetime) -> None:
    """Register `cert` as the user's signing certificate; the one before it is superseded (revoked now)."""
    _, previous = _current(session, user_id)
    fp = keys.fingerprint(cert)
    if previous is not None and previous.fingerprint == fp:
        raise SigningError("this certificate is already the user's current one", where=f"user:{user_id}")
    if previous is not None and _revoked(session, previous.fingerprint) is None:
        session.add(SigningRevocation(fingerprint=previous.fingerprint, user_id=user_id, revoked_at=iso(now),
                                      reason=SUPERSEDED))
    session.add(SigningCertificate(
        user_id=user_id, fingerprint=fp, serial=format(cert.serial_number, "x"), subject=cert.subject.rfc4514_string(),
        issuer=cert.issuer.rfc4514_string(), not_before=iso(cert.not_valid_before_utc),
        not_after=iso(cert.not_valid_after_utc), pem=keys.cert_pem(cert),
    ))
    audit.append(session, audit.EventSpec(actor, action, f"user:{user_id}", after=fp, details={
        "certificate": fp, "supersedes": previous.fingerprint if previous else None,
        "not_after": iso(cert.not_valid_after_utc), "issuer": cert.issuer.rfc4514_string()}))


def _store_key_pair(directory: Path, user_id: str, key: keys.PrivateKey, cert: x509.Certificate, passphrase: str) -> Path:
    key_path, cert_path = user_paths(directory, user_id, keys.fingerprint(cert))
    atomic.write_private(key_path, keys.encrypted_pem(key, passphrase))
    atomic.write_text(cert_path, keys.cert_pem(cert))
    return key_path


def _remove(*paths: Path) -> None:
    for p in paths:
        p.unlink(missing_ok=True)


def _enrol(store: Store, directory: Path, user_id: str, name: str, role: Role, key: keys.PrivateKey,
           cert: x509.Certificate, passphrase: str, actor: str, action: str, now: datetime, new_user: bool) -> Identity:
    """Write the key, then register it in one transaction; a failed registration leaves no key behind."""
    key_path = _store_key_pair(directory, user_id, key, cert, passphrase)
    try:
        with store.transaction() as session:
            if new_user:
                session.add(SigningUser(user_id=user_id, name=name, role=role.value))
                audit.append(session, audit.EventSpec(actor, "user.add", f"user:{user_id}",
                                                      details={"name": name, "role": role.value}))
            _register(session, user_id, cert, actor, action, now)
    except BaseException:
        _remove(key_path, key_path.with_name(key_path.name.replace(".key.pem", ".cert.pem")))
        raise
    return Identity(user_id, name, role, cert, key_path, False)


def _check_new(store: Store, user_id: str) -> None:
    check_user_id(user_id)
    with store.reader() as session:
        if _current(session, user_id)[0] is not None:
            raise SigningError(f"user {user_id} already exists", where=f"user:{user_id}",
                               hint="use `qms user rotate-key` for a new key")


def add_user(store: Store, directory: Path, user_id: str, name: str, role: Role, passphrase: str, ca_passphrase: str,
             *, actor: str, days: int = USER_DAYS, now: datetime | None = None) -> Identity:
    """Enrol a user: a new key (encrypted with their passphrase) and a certificate from the self-managed CA."""
    _check_new(store, user_id)
    if not name.strip():
        raise SigningError("the printed name is empty", where=f"user:{user_id}")
    keys.check_new_passphrase(passphrase, "user")
    moment = _now(now)
    ca_key, ca_cert = ca_key_pair(directory, ca_passphrase)
    key = keys.generate_key()
    cert = keys.issue_certificate(ca_key, ca_cert, keys.public_der(key), name, user_id, moment - timedelta(minutes=5), days,
                                  role.value)
    return _enrol(store, directory, user_id, name, role, key, cert, passphrase, actor, "user.certificate", moment, True)


def _load_external(cert_data: bytes, key_data: bytes | None, key_passphrase: str | None,
                   where: str) -> tuple[keys.PrivateKey, x509.Certificate]:
    secret = key_passphrase.encode() if key_passphrase else None
    if key_data is None:
        try:
            key, cert, _ = pkcs12.load_key_and_certificates(cert_data, secret)
        except ValueError as exc:
            raise SigningError("not a readable PKCS#12 file, or the wrong passphrase for it", where=where) from exc
        if key is None or cert is None:
            raise SigningError("the PKCS#12 file holds no key and certificate", where=where)
    else:
        cert = keys.load_certificate(cert_data, where)
        try:
            key = load_pem_private_key(key_data, password=secret)
        except (ValueError, TypeError) as exc:
            raise SigningError("not a readable private key, or the wrong passphrase for it", where=where) from exc
    if not isinstance(key, (ec.EllipticCurvePrivateKey, rsa.RSAPrivateKey)):
        raise SigningError("the private key is neither ECDSA nor RSA", where=where)
    keys.check_key_matches(key, cert, where)
    return key, cert


def import_user(store: Store, directory: Path, user_id: str, role: Role, passphrase: str, cert_data: bytes,
                *, key_data: bytes | None = None, key_passphrase: str | None = None, where: str, actor: str,
                now: datetime | None = None) -> Identity:
    """Enrol a user, or give an existing one a new key, from a CA-issued certificate (PEM + key, or PKCS#12)."""
    check_user_id(user_id)
    keys.check_new_passphrase(passphrase, "user")
    key, cert = _load_external(cert_data, key_data, key_passphrase, where)
    if not any(keys.issued_by(cert, a) for a in load_anchors(directory)):
        raise SigningError(f"the certificate was issued by {cert.issuer.rfc4514_string()}, which is not a trusted CA",
                           where=where, hint="import the CA's certificate first: `qms ca import CA.pem`")
    cert_uid = keys.subject_user_id(cert)
    if cert_uid is not None and cert_uid != user_id:
        raise SigningError(f"the certificate is for user id {cert_uid}, not {user_id}", where=where)
    with store.reader() as session:
        existing = _current(session, user_id)[0]
    name = keys.subject_name(cert)
    if existing is not None:
        return _enrol(store, directory, user_id, existing.name, Role(existing.role), key, cert, passphrase, actor,
                      "user.rotate-key", _now(now), False)
    return _enrol(store, directory, user_id, name, role, key, cert, passphrase, actor, "user.certificate", _now(now), True)


def rotate_key(store: Store, directory: Path, user_id: str, passphrase: str, ca_passphrase: str, *, actor: str,
               days: int = USER_DAYS, now: datetime | None = None) -> Identity:
    """A new key and certificate; the old certificate is superseded now (earlier signatures stay valid)."""
    current = identity(store, directory, user_id)
    keys.check_new_passphrase(passphrase, "user")
    moment = _now(now)
    ca_key, ca_cert = ca_key_pair(directory, ca_passphrase)
    key = keys.generate_key()
    cert = keys.issue_certificate(ca_key, ca_cert, keys.public_der(key), current.name, user_id, moment - timedelta(minutes=5),
                                  days, current.role.value)
    return _enrol(store, directory, user_id, current.name, current.role, key, cert, passphrase, actor,
                  "user.rotate-key", moment, False)


def revoke(store: Store, user_id: str, reason: str, *, actor: str, now: datetime | None = None) -> SigningRevocation:
    """Withdraw the user's current certificate (§11.300(c): a lost or compromised key is deauthorised)."""
    moment = _now(now)
    with store.transaction() as session:
        user, cert = _current(session, user_id)
        if user is None or cert is None:
            raise SigningError(f"no user {user_id}", where=f"user:{user_id}", hint="see `qms user list`")
        if _revoked(session, cert.fingerprint) is not None:
            raise SigningError(f"the certificate of {user_id} is already revoked", where=f"user:{user_id}")
        rev = SigningRevocation(fingerprint=cert.fingerprint, user_id=user_id, revoked_at=iso(moment), reason=reason)
        session.add(rev)
        audit.append(session, audit.EventSpec(actor, "user.revoke", f"user:{user_id}", before=cert.fingerprint,
                                              details={"certificate": cert.fingerprint, "reason": reason,
                                                       "revoked_at": rev.revoked_at}))
    return rev


def identity(store: Store, directory: Path, user_id: str) -> Identity:
    """The user's current identity; an unknown user is a clear error."""
    with store.reader() as session:
        user, cert = _current(session, user_id)
        revoked = cert is not None and _revoked(session, cert.fingerprint) is not None
    if user is None or cert is None:
        raise SigningError(f"no user {user_id} in this record store", where=f"user:{user_id}",
                           hint="enrol with `qms user add`; see `qms user list`")
    certificate = keys.load_certificate(cert.pem.encode(), f"signing_certificate:{cert.id}")
    key_path, _ = user_paths(directory, user_id, cert.fingerprint)
    return Identity(user_id, user.name, Role(user.role), certificate, key_path, revoked)


def list_users(store: Store, directory: Path) -> list[Identity]:
    with store.reader() as session:
        ids = sorted({u.user_id for u in session.exec(select(SigningUser))})
    return [identity(store, directory, uid) for uid in ids]
