"""Identities: enrolment, import of CA-issued certificates, rotation and revocation."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

from qms import audit
from qms.signing import (Role, SignatureRecord, SigningError, Trust, WrongPassphrase, add_user, identity, import_ca,
                         import_user, list_users, revoke, rotate_key, sign_bytes, verify_record)
from qms.signing.keys import issue_certificate, make_ca_certificate, public_der
from qms.store import Store
from tests.signing.orgkit import CA_PASS, Org, make_org, passphrase

NOW = dt.datetime.now(dt.UTC)


def _external_ca(tmp_path: Path) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    cert = make_ca_certificate(key, "Other Hospital", NOW - dt.timedelta(days=1), 365)
    path = tmp_path / "other-ca.pem"
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return key, cert, path


def test_enrolment_is_recorded_in_store_and_audit_trail(store: Store, tmp_path: Path) -> None:
    """Enrolling users records each user and certificate with an audit event, on SQLite and PostgreSQL."""
    org = make_org(store, tmp_path / "home")
    users = {i.user_id: i for i in list_users(org.store, org.home)}
    assert set(users) == {"alice", "bob", "carol", "ci"}
    assert users["bob"].name == "Bob Reviewer" and users["bob"].role is Role.QUALITY
    actions = [e.action for e in audit.log(org.store)]
    assert actions.count("user.add") == 4 and actions.count("user.certificate") == 4
    assert audit.verify(org.store).intact


def test_private_keys_live_encrypted_in_the_identity_directory(org: Org) -> None:
    """A user's private key is written only under the identity directory, encrypted, readable by the owner only."""
    path = identity(org.store, org.home, "alice").key_path
    assert path.is_relative_to(org.home)
    assert b"ENCRYPTED PRIVATE KEY" in path.read_bytes()
    assert path.stat().st_mode & 0o077 == 0


@pytest.mark.parametrize("user_id", ["A", "Alice", "has space", "x" * 65, "-lead"])
def test_invalid_user_ids_are_refused(org: Org, user_id: str) -> None:
    """A user id outside the allowed pattern is refused before anything is written."""
    with pytest.raises(SigningError, match="invalid user id"):
        add_user(org.store, org.home, user_id, "Some One", Role.ENGINEER, "long-enough", CA_PASS, actor="admin")


def test_duplicate_user_and_short_passphrase_are_refused(org: Org) -> None:
    """A second enrolment of the same user id and a passphrase under 8 characters are refused."""
    with pytest.raises(SigningError, match="already exists"):
        add_user(org.store, org.home, "alice", "Alice Again", Role.ENGINEER, "long-enough", CA_PASS, actor="admin")
    with pytest.raises(SigningError, match="at least 8"):
        add_user(org.store, org.home, "dave", "Dave", Role.ENGINEER, "short", CA_PASS, actor="admin")


def test_wrong_ca_passphrase_enrols_no_one(org: Org) -> None:
    """With a wrong CA passphrase no user is recorded and no key is left behind."""
    with pytest.raises(WrongPassphrase):
        add_user(org.store, org.home, "dave", "Dave", Role.ENGINEER, "long-enough", "not-the-ca-pass", actor="admin")
    assert "dave" not in {i.user_id for i in list_users(org.store, org.home)}
    assert not (org.home / "users" / "dave").exists() or not any((org.home / "users" / "dave").iterdir())


def test_rotation_keeps_earlier_signatures_valid_and_signs_with_the_new_key(org: Org) -> None:
    """After key rotation, signatures made before it still verify and new ones use the new certificate."""
    before = sign_bytes(org.store, org.home, "alice", passphrase("alice"), b"v1", "authored", "doc:1")
    new = rotate_key(org.store, org.home, "alice", "alice-new-passphrase", CA_PASS, actor="admin")
    assert new.fingerprint != before.cert_fingerprint
    with pytest.raises(WrongPassphrase):
        sign_bytes(org.store, org.home, "alice", passphrase("alice"), b"v2", "authored", "doc:2")
    after = sign_bytes(org.store, org.home, "alice", "alice-new-passphrase", b"v2", "authored", "doc:2")
    trust = org.trust()
    assert verify_record(before, b"v1", trust).ok
    assert verify_record(after, b"v2", trust).ok
    assert after.cert_fingerprint == new.fingerprint


def test_revoked_certificate_cannot_sign_and_untimestamped_signatures_fail(org: Org) -> None:
    """A revoked user can no longer sign, and their signatures without a trusted timestamp no longer verify."""
    rec = sign_bytes(org.store, org.home, "bob", passphrase("bob"), b"report", "reviewed", "doc:r")
    revoke(org.store, "bob", "laptop lost", actor="admin")
    with pytest.raises(SigningError, match="revoked"):
        sign_bytes(org.store, org.home, "bob", passphrase("bob"), b"report", "reviewed", "doc:r")
    status = verify_record(rec, b"report", org.trust())
    assert status.intact and not status.valid and any("self-reported" in r for r in status.reasons)
    assert identity(org.store, org.home, "bob").revoked
    assert org.store.all(SignatureRecord, SignatureRecord.user_id == "bob") == [rec]


def _pkcs12(key: ec.EllipticCurvePrivateKey, cert: x509.Certificate, secret: bytes) -> bytes:
    return pkcs12.serialize_key_and_certificates(b"dave", key, cert, None,
                                                 serialization.BestAvailableEncryption(secret))


def test_import_of_a_ca_issued_pkcs12_and_pem_identity(org: Org, tmp_path: Path) -> None:
    """A certificate issued by an imported organisation CA enrols a user from PKCS#12, and from PEM for rotation."""
    ca_key, ca_cert, ca_path = _external_ca(tmp_path)
    import_ca(org.home, ca_path.read_bytes(), str(ca_path))
    key = ec.generate_private_key(ec.SECP256R1())
    cert = issue_certificate(ca_key, ca_cert, public_der(key), "Dave External", "dave", NOW - dt.timedelta(hours=1), 30)
    ident = import_user(org.store, org.home, "dave", Role.ENGINEER, "dave-passphrase", _pkcs12(key, cert, b"p12-secret"),
                        key_passphrase="p12-secret", where="dave.p12", actor="admin")
    assert ident.name == "Dave External"
    rec = sign_bytes(org.store, org.home, "dave", "dave-passphrase", b"x", "authored", "doc:x")
    assert verify_record(rec, b"x", org.trust()).ok
    key2 = ec.generate_private_key(ec.SECP256R1())
    cert2 = issue_certificate(ca_key, ca_cert, public_der(key2), "Dave External", "dave", NOW - dt.timedelta(hours=1), 30)
    pem_key = key2.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    rotated = import_user(org.store, org.home, "dave", Role.ENGINEER, "dave-passphrase-2",
                          cert2.public_bytes(serialization.Encoding.PEM), key_data=pem_key, where="dave.pem", actor="admin")
    assert rotated.fingerprint != ident.fingerprint


def test_import_refuses_unknown_ca_and_mismatched_key(org: Org, tmp_path: Path) -> None:
    """Importing a certificate from an untrusted CA, or with a key that is not its own, fails and enrols no one."""
    ca_key, ca_cert, _ = _external_ca(tmp_path)
    key = ec.generate_private_key(ec.SECP256R1())
    cert = issue_certificate(ca_key, ca_cert, public_der(key), "Eve", "eve", NOW - dt.timedelta(hours=1), 30)
    with pytest.raises(SigningError, match="not a trusted CA"):
        import_user(org.store, org.home, "eve", Role.ENGINEER, "eve-passphrase", _pkcs12(key, cert, b"s3cret-p12"),
                    key_passphrase="s3cret-p12", where="eve.p12", actor="admin")
    other = ec.generate_private_key(ec.SECP256R1())
    pem = other.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    with pytest.raises(SigningError, match="does not match the private key"):
        import_user(org.store, org.home, "eve", Role.ENGINEER, "eve-passphrase", cert.public_bytes(serialization.Encoding.PEM),
                    key_data=pem, where="eve.pem", actor="admin")
    assert "eve" not in {i.user_id for i in list_users(org.store, org.home)}


def test_import_ca_refuses_a_leaf_certificate(org: Org) -> None:
    """A signer's certificate cannot be imported as a trusted CA."""
    leaf = identity(org.store, org.home, "alice").certificate.public_bytes(serialization.Encoding.PEM)
    with pytest.raises(SigningError, match="not a CA certificate"):
        import_ca(org.home, leaf, "alice.pem")


def test_certificate_names_the_user(org: Org) -> None:
    """The issued certificate carries the printed name as CN and the user id as UID, for signatures only."""
    cert = identity(org.store, org.home, "carol").certificate
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "Carol Approver"
    assert cert.subject.get_attributes_for_oid(NameOID.USER_ID)[0].value == "carol"
    usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.digital_signature and usage.content_commitment and not usage.key_cert_sign
    assert isinstance(cert.signature_hash_algorithm, hashes.SHA256)


def test_trust_without_the_ca_is_not_trusted(org: Org, tmp_path: Path) -> None:
    """A verifier that does not trust the organisation CA reports the signature untrusted, naming the issuer."""
    rec = sign_bytes(org.store, org.home, "alice", passphrase("alice"), b"x", "authored", "doc:x")
    status = verify_record(rec, b"x", Trust.from_store(org.store, tmp_path / "empty-home"))
    assert status.intact and status.valid and not status.trusted and not status.ok
    assert any("not a trusted CA" in r for r in status.reasons)
