"""Key pairs and X.509 certificates: generation, passphrase encryption, loading, issuing.

Keys are ECDSA P-256, written as PKCS#8 encrypted with the owner's passphrase (the private
component of §11.200(a)); the plaintext key exists only in memory while signing.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.types import CertificateIssuerPrivateKeyTypes
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from qms.hashing import sha256_hex
from qms.signing.errors import SigningError, WrongPassphrase

__all__ = ["cert_pem", "check_key_matches", "check_new_passphrase", "encrypted_pem", "fingerprint", "generate_key",
           "issue_certificate", "issued_by", "load_certificate", "load_key", "make_ca_certificate", "MIN_PASSPHRASE",
           "PrivateKey", "public_der", "sign_data", "subject_name", "subject_role", "subject_user_id", "verify_data"]

MIN_PASSPHRASE = 8
PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey


def check_new_passphrase(passphrase: str, what: str) -> None:
    """§11.300: a passphrase too short to resist guessing is refused when it is set."""
    if len(passphrase) < MIN_PASSPHRASE:
        raise SigningError(f"the {what} passphrase must have at least {MIN_PASSPHRASE} characters")


def generate_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def encrypted_pem(key: PrivateKey, passphrase: str) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.BestAvailableEncryption(passphrase.encode()))


def load_key(path: Path, passphrase: str) -> PrivateKey:
    """Decrypt a key file; a wrong passphrase and a damaged file are told apart."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SigningError(f"cannot read the private key: {exc.strerror}", where=str(path)) from exc
    if b"-----BEGIN ENCRYPTED PRIVATE KEY-----" not in data or b"-----END ENCRYPTED PRIVATE KEY-----" not in data:
        raise SigningError("the private key file is damaged or not an encrypted PKCS#8 key", where=str(path),
                           hint="restore it from backup, or rotate the key (`qms user rotate-key`)")
    try:
        key = serialization.load_pem_private_key(data, password=passphrase.encode())
    except ValueError as exc:
        message = str(exc).lower()
        # A wrong passphrase usually fails the padding ("bad decrypt"), but about 1 in 256 decrypts to
        # garbage with valid padding and fails as unreadable key data: a sound encrypted structure says which.
        if "decrypt" in message or "password" in message or _sound_encrypted_pkcs8(data):
            raise WrongPassphrase("wrong passphrase", where=str(path), hint="nothing was signed; try again") from exc
        raise SigningError("the private key file is damaged", where=str(path),
                           hint="restore it from backup, or rotate the key (`qms user rotate-key`)") from exc
    if not isinstance(key, (ec.EllipticCurvePrivateKey, rsa.RSAPrivateKey)):
        raise SigningError("the private key is neither ECDSA nor RSA", where=str(path))
    return key


def _sound_encrypted_pkcs8(pem: bytes) -> bool:
    """Whether the PEM holds a well-formed EncryptedPrivateKeyInfo (RFC 5958), whatever the passphrase."""
    from asn1crypto import keys as asn1_keys, pem as asn1_pem

    try:
        _, _, der = asn1_pem.unarmor(pem)
        info = asn1_keys.EncryptedPrivateKeyInfo.load(der)
        info.native  # parses every field: a damaged file fails here
    except (ValueError, TypeError, OSError):
        return False
    return True


def load_certificate(data: bytes, where: str) -> x509.Certificate:
    """A PEM or DER certificate, or a clear error naming the file."""
    try:
        if b"-----BEGIN CERTIFICATE-----" in data:
            return x509.load_pem_x509_certificate(data)
        return x509.load_der_x509_certificate(data)
    except ValueError as exc:
        raise SigningError("not a readable X.509 certificate", where=where) from exc


def cert_pem(cert: x509.Certificate) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def fingerprint(cert: x509.Certificate) -> str:
    """sha256 of the certificate's DER bytes: how records name a certificate."""
    return sha256_hex(cert.public_bytes(serialization.Encoding.DER))


def public_der(key: PrivateKey) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def check_key_matches(key: PrivateKey, cert: x509.Certificate, where: str) -> None:
    """Refuse a key that is not the one the certificate was issued for."""
    cert_der = cert.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    if cert_der != public_der(key):
        raise SigningError("the certificate does not match the private key", where=where,
                           hint="import the certificate issued for this key")


def sign_data(key: PrivateKey, data: bytes) -> bytes:
    if isinstance(key, rsa.RSAPrivateKey):
        return key.sign(data, padding.PKCS1v15(), hashes.SHA256())
    return key.sign(data, ec.ECDSA(hashes.SHA256()))


def verify_data(cert: x509.Certificate, signature: bytes, data: bytes) -> bool:
    public = cert.public_key()
    try:
        if isinstance(public, rsa.RSAPublicKey):
            public.verify(signature, data, padding.PKCS1v15(), hashes.SHA256())
        elif isinstance(public, ec.EllipticCurvePublicKey):
            public.verify(signature, data, ec.ECDSA(hashes.SHA256()))
        else:
            return False
    except InvalidSignature:
        return False
    return True


def issued_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    """True when `issuer`'s key made `cert`'s signature and the names agree."""
    if cert.issuer != issuer.subject:
        return False
    try:
        cert.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def _name(common_name: str, organisation: str, user_id: str | None = None, role: str | None = None) -> x509.Name:
    attrs = [x509.NameAttribute(NameOID.COMMON_NAME, common_name),
             x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation)]
    if user_id is not None:
        attrs.append(x509.NameAttribute(NameOID.USER_ID, user_id))
    if role is not None:  # X.520 title: the CA, not a record anyone can edit, vouches for the signer's role
        attrs.append(x509.NameAttribute(NameOID.TITLE, role))
    return x509.Name(attrs)


def _key_usage(*, signer: bool) -> x509.KeyUsage:
    return x509.KeyUsage(digital_signature=signer, content_commitment=signer, key_encipherment=False,
                         data_encipherment=False, key_agreement=False, key_cert_sign=not signer,
                         crl_sign=not signer, encipher_only=False, decipher_only=False)


def make_ca_certificate(key: PrivateKey, organisation: str, not_before: datetime, days: int) -> x509.Certificate:
    """A self-signed organisation CA that issues signer certificates and nothing below them."""
    name = _name(f"{organisation} signing CA", organisation)
    return (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before).not_valid_after(not_before + timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(signer=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )


def issue_certificate(
    ca_key: CertificateIssuerPrivateKeyTypes, ca_cert: x509.Certificate, public_der_bytes: bytes,
    name: str, user_id: str, not_before: datetime, days: int, role: str | None = None,
) -> x509.Certificate:
    """A signer certificate: CN = printed name, UID = user id, title = role (person or service), for signatures only."""
    public = serialization.load_der_public_key(public_der_bytes)
    org = ca_cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)
    organisation = str(org[0].value) if org else "qmskit"
    ski = ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    return (
        x509.CertificateBuilder().subject_name(_name(name, organisation, user_id, role)).issuer_name(ca_cert.subject)
        .public_key(public)  # type: ignore[arg-type]
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before).not_valid_after(not_before + timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(signer=True), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)  # type: ignore[arg-type]
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False)
        .sign(ca_key, hashes.SHA256())
    )


def subject_user_id(cert: x509.Certificate) -> str | None:
    attrs = cert.subject.get_attributes_for_oid(NameOID.USER_ID)
    return str(attrs[0].value) if attrs else None


def subject_role(cert: x509.Certificate) -> str | None:
    """The role the issuing CA put in the certificate (X.520 title), or None when it states none."""
    attrs = cert.subject.get_attributes_for_oid(NameOID.TITLE)
    return str(attrs[0].value) if attrs else None


def subject_name(cert: x509.Certificate) -> str:
    attrs = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(attrs[0].value) if attrs else cert.subject.rfc4514_string()
