"""Revocation lists: the CA signs the store's revocations; verifiers without the store use them; PDFs embed them (B-LT)."""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from qms.hashing import sha256_hex
from qms.signing import SigningError, Trust, revoke, rotate_key, verify_record
from qms.signing.crl import crl_der, current_crl, issue_crl, published_crls, read_crl, with_crl
from qms.signing.identity import identity
from qms.signing.keys import load_key, make_ca_certificate
from qms.signing.meaning import Meaning, SignatureMeaning
from qms.signing.pdf import RoleSpec, Signatory, prepare_signature_fields, sign_pdf, verify_pdf
from qms.signing.sign import Unlocked, record_signature
from qms.signing.tsa import issue_tsa
from tests.signing.orgkit import CA_PASS, Org, passphrase

NOW = dt.datetime.now(dt.UTC)


def test_crl_lists_every_revocation_signed_by_the_ca(org: Org) -> None:
    """`issue_crl` lists the revoked and the superseded certificates with their reasons, signed by the CA, and publishes it."""
    old_alice = identity(org.store, org.home, "alice").certificate
    rotate_key(org.store, org.home, "alice", "alice-new-passphrase", CA_PASS, actor="admin")
    revoke(org.store, "bob", "key compromised", actor="admin")
    crl = issue_crl(org.store, org.home, CA_PASS)
    anchors = org.trust().anchors
    assert read_crl(crl_der(crl), anchors, "crl") is not None and published_crls(org.home)
    bob = identity(org.store, org.home, "bob").certificate
    reasons = {e.serial_number: e.extensions.get_extension_for_class(x509.CRLReason).value.reason for e in crl}
    assert reasons == {old_alice.serial_number: x509.ReasonFlags.superseded, bob.serial_number: x509.ReasonFlags.unspecified}


def test_offline_verifier_with_the_crl_rejects_a_signature_by_a_revoked_key(org: Org) -> None:
    """A verifier holding only the CA certificate and its CRL rejects a signature the revoked key made, whatever its claimed time."""
    ident = identity(org.store, org.home, "bob")
    key = load_key(ident.key_path, passphrase("bob"))
    revoke(org.store, "bob", "key compromised", actor="admin")
    crl = crl_der(issue_crl(org.store, org.home, CA_PASS))
    claimed = ident.certificate.not_valid_before_utc + dt.timedelta(seconds=1)  # backdated, within the validity
    forged = record_signature(org.store, Unlocked(ident, key, Meaning(SignatureMeaning.REVIEWED), True, claimed),
                              "doc:x", sha256_hex(b"x"), "bytes")
    offline = Trust(org.trust().anchors, certificates={ident.fingerprint: ident.certificate})
    assert verify_record(forged, b"x", offline).valid  # without revocation information the forgery passes
    status = verify_record(forged, b"x", with_crl(offline, crl, "crl"))
    assert not status.valid and any("revoked" in r for r in status.reasons)


def _impostor_crl(subject: x509.Name) -> bytes:
    """A CRL made by a key that is not the organisation CA's, naming `subject` as its issuer."""
    key = ec.generate_private_key(ec.SECP256R1())
    crl = (x509.CertificateRevocationListBuilder().issuer_name(subject).last_update(NOW)
           .next_update(NOW + dt.timedelta(days=7)).sign(key, hashes.SHA256()))
    return crl_der(crl)


def test_crl_signed_by_another_ca_is_rejected(org: Org) -> None:
    """A CRL signed by any key but a trusted CA's is refused, even when it copies the organisation CA's name."""
    anchors = org.trust().anchors
    other = make_ca_certificate(ec.generate_private_key(ec.SECP256R1()), "Other Hospital", NOW, 30)
    with pytest.raises(SigningError, match="not a trusted CA"):
        read_crl(_impostor_crl(other.subject), anchors, "other.crl")
    with pytest.raises(SigningError, match="not a trusted CA"):
        with_crl(org.trust(), _impostor_crl(anchors[0].subject), "lookalike.crl")
    with pytest.raises(SigningError, match="not a readable"):
        read_crl(b"not a crl", anchors, "junk.crl")


def test_published_crl_older_than_a_revocation_is_refused_for_a_bundle(org: Org) -> None:
    """A published CRL that misses a revocation in the store is refused, naming the user, until a current one is issued."""
    assert current_crl(org.store, org.home) is None
    issue_crl(org.store, org.home, CA_PASS)
    revoke(org.store, "carol", "left the company", actor="admin")
    with pytest.raises(SigningError, match="misses the revocation of carol"):
        current_crl(org.store, org.home)
    issue_crl(org.store, org.home, CA_PASS)
    assert current_crl(org.store, org.home) is not None


def _revoked_reviewer_document(org: Org, pdfa: bytes) -> bytes:
    """Bob signs without a timestamp, is revoked, a CRL is published, then Carol signs with the TSA (B-LT)."""
    issue_tsa(org.home, CA_PASS)
    roles = [RoleSpec.of("reviewer", "reviewed", ["bob"]), RoleSpec.of("approver", "approved", ["carol"])]
    pdf = prepare_signature_fields(org.store, org.home, pdfa, roles)
    pdf, _ = sign_pdf(org.store, org.home, Signatory("bob", passphrase("bob")), pdf, "reviewed", "doc:t")
    revoke(org.store, "bob", "key compromised", actor="admin")
    issue_crl(org.store, org.home, CA_PASS)
    pdf, _ = sign_pdf(org.store, org.home, Signatory("carol", passphrase("carol")), pdf, "approved", "doc:t", tsa="local")
    return pdf


def test_pdf_embeds_the_crl_so_an_offline_verifier_sees_the_revocation(org: Org, pdfa: bytes) -> None:
    """A later signature adds the published CRL to the DSS; a verifier with only the CA rejects the revoked reviewer from it."""
    pdf = _revoked_reviewer_document(org, pdfa)
    assert b"/DSS" in pdf and b"/CRLs" in pdf
    report = verify_pdf(pdf, Trust(org.trust().anchors))
    bob, carol = report.signatures
    assert not bob.ok and any("revoked" in r for r in bob.reasons)
    assert carol.ok and carol.time_trusted, carol.reasons


@pytest.mark.external
def test_pdfsig_validates_timestamped_signatures_with_embedded_revocation(org: Org, pdfa: bytes, tmp_path: Path) -> None:
    """poppler's pdfsig reports both signatures of a PAdES B-LT document (timestamp, DSS with CRL) cryptographically valid."""
    if shutil.which("pdfsig") is None:
        pytest.skip("pdfsig (poppler-utils) is not installed")
    path = tmp_path / "signed.pdf"
    path.write_bytes(_revoked_reviewer_document(org, pdfa))
    out = subprocess.run(["pdfsig", str(path)], capture_output=True, text=True, check=False).stdout
    assert out.count("Signature Validation: Signature is Valid.") == 2, out
