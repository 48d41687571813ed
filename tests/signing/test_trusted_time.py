"""Trusted time: the organisation TSA (RFC 3161), timestamps on PDF and manifest signatures, revocation judged by them.

The TSA is issued by the test organisation's CA and runs in-process or on 127.0.0.1; all
keys, names and documents are synthetic.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import shutil
import subprocess
import threading
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from asn1crypto import tsp
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from qms.hashing import sha256_hex
from qms.signing import SigningError, Trust, revoke, verify_record
from qms.signing.identity import identity, init_ca
from qms.signing.keys import issued_by, load_key
from qms.signing.manifest import Provenance, sign_manifest, verify_manifest
from qms.signing.meaning import Meaning, SignatureMeaning
from qms.signing.pdf import Signatory, sign_pdf, verify_pdf
from qms.signing.sign import Unlocked, record_signature
from qms.signing.timestamp import check_token, stamp, timestamper
from qms.signing.tsa import Refusal, Responder, issue_tsa, load_responder
from qms.signing.tsa_server import make_server
from tests.signing.orgkit import CA_PASS, Org, passphrase

UNTRUSTED = "time not trusted"


def _serve(responder: Responder) -> tuple[str, Callable[[], None]]:
    server = make_server(responder)
    threading.Thread(target=server.serve_forever, daemon=True).start()

    def stop() -> None:
        server.shutdown()
        server.server_close()

    return f"http://127.0.0.1:{server.server_address[1]}/", stop


@pytest.fixture
def tsa(org: Org) -> Responder:
    issue_tsa(org.home, CA_PASS)
    return load_responder(org.home)


@pytest.fixture
def tsa_url(tsa: Responder) -> Iterator[str]:
    url, stop = _serve(tsa)
    yield url
    stop()


def test_tsa_certificate_is_issued_by_the_ca_for_time_stamping_only(org: Org, tsa: Responder) -> None:
    """`issue_tsa` makes a certificate the CA issued whose only extended key usage is timeStamping, marked critical."""
    cert = tsa.certificate
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage)
    assert eku.critical and list(eku.value) == [ExtendedKeyUsageOID.TIME_STAMPING]
    assert issued_by(cert, org.trust().anchors[0])
    with pytest.raises(SigningError, match="already exists"):
        issue_tsa(org.home, CA_PASS)


def test_local_tsa_gives_a_pdf_signature_trusted_time(org: Org, pdfa: bytes, tsa: Responder) -> None:
    """With tsa = "local" the PDF signature carries the TSA's timestamp, verified as trusted time, with no warning."""
    signed, _ = sign_pdf(org.store, org.home, Signatory("alice", passphrase("alice")), pdfa, "authored", "doc:t", tsa="local")
    status = verify_pdf(signed, org.trust()).signatures[0]
    assert status.ok and status.time_trusted and not status.warnings, status.reasons


def test_documents_signed_with_one_opened_tsa_each_carry_their_own_trusted_timestamp(
        org: Org, pdfa: bytes, tsa: Responder, monkeypatch: pytest.MonkeyPatch) -> None:
    """A batch sharing one opened TSA asks it once for the sizing token and once per signature: every timestamp is that signature's."""
    asked: list[bytes] = []
    respond = Responder.respond

    def counted(self: Responder, req: tsp.TimeStampReq) -> object:
        asked.append(req["message_imprint"]["hashed_message"].native)
        return respond(self, req)

    monkeypatch.setattr(Responder, "respond", counted)
    authority = timestamper("local", org.home)
    signed = [sign_pdf(org.store, org.home, Signatory("alice", passphrase("alice")), pdfa, "authored", f"doc:{n}",
                       tsa=authority)[0] for n in range(3)]
    assert len(asked) == 1 + 3 and len(set(asked)) == 4  # one sizing token, then one over each signature
    for pdf in signed:
        status = verify_pdf(pdf, org.trust()).signatures[0]
        assert status.ok and status.time_trusted and not status.warnings, status.reasons


def test_untimestamped_signature_is_a_warning_by_default_and_fails_when_trusted_time_is_required(
        org: Org, pdfa: bytes) -> None:
    """Without a timestamp a signature verifies with the warning "time not trusted", and fails where trusted time is required."""
    signed, _ = sign_pdf(org.store, org.home, Signatory("alice", passphrase("alice")), pdfa, "authored", "doc:t")
    status = verify_pdf(signed, org.trust()).signatures[0]
    assert status.ok and not status.time_trusted and any(UNTRUSTED in w for w in status.warnings)
    strict = Trust(org.trust().anchors, require_trusted_time=True)
    required = verify_pdf(signed, strict).signatures[0]
    assert not required.ok and any(UNTRUSTED in r for r in required.reasons)


def test_timestamped_signature_before_revocation_still_verifies_after_it(org: Org, pdfa: bytes, tsa: Responder) -> None:
    """A signature whose timestamp predates its certificate's revocation stays valid after the revocation."""
    signed, _ = sign_pdf(org.store, org.home, Signatory("alice", passphrase("alice")), pdfa, "authored", "doc:t", tsa="local")
    revoke(org.store, "alice", "left the company", actor="admin")
    status = verify_pdf(signed, org.trust()).signatures[0]
    assert status.ok and status.time_trusted, status.reasons


def test_key_used_after_revocation_with_a_backdated_time_is_rejected(org: Org) -> None:
    """A signature made with a revoked key and dated before the revocation is rejected: a self-reported time proves nothing."""
    ident = identity(org.store, org.home, "bob")
    key = load_key(ident.key_path, passphrase("bob"))
    revoke(org.store, "bob", "key compromised", actor="admin")
    backdated = dt.datetime.now(dt.UTC) - dt.timedelta(days=1) + dt.timedelta(minutes=10)
    forged = record_signature(org.store, Unlocked(ident, key, Meaning(SignatureMeaning.REVIEWED), True, backdated),
                              "doc:forged", sha256_hex(b"report"), "bytes")
    status = verify_record(forged, b"report", org.trust())
    assert status.intact and not status.valid and not status.ok
    assert any("self-reported" in r and "key compromised" in r for r in status.reasons)


def test_rotation_keeps_earlier_untimestamped_signatures_valid_with_a_warning(org: Org) -> None:
    """A key superseded by rotation (not compromised) leaves signatures dated before it valid, flagged "time not trusted"."""
    from qms.signing import rotate_key, sign_bytes

    rec = sign_bytes(org.store, org.home, "alice", passphrase("alice"), b"v1", "authored", "doc:1")
    rotate_key(org.store, org.home, "alice", "alice-new-passphrase", CA_PASS, actor="admin")
    status = verify_record(rec, b"v1", org.trust())
    assert status.ok and any(UNTRUSTED in w for w in status.warnings)


def test_manifest_carries_a_timestamp_over_its_signature(org: Org, tmp_path: Path, tsa: Responder) -> None:
    """A manifest signed with a TSA carries a token over its signature bytes; it verifies as trusted time, a forged one fails."""
    root = tmp_path / "release"
    root.mkdir()
    (root / "a.txt").write_bytes(b"alpha")
    doc, _ = sign_manifest(org.store, org.home, "carol", passphrase("carol"), root, ["a.txt"], Provenance("a" * 40),
                           "approved", "release:1:manifest", tsa="local")
    report = verify_manifest(doc, root, org.trust())
    assert report.ok and report.signature.time_trusted, report.to_json()
    revoke(org.store, "carol", "left the company", actor="admin")
    assert verify_manifest(doc, root, org.trust()).ok
    other = stamp(tsa, b"some other signature", "test")
    forged = {**doc, "timestamp": base64.b64encode(other).decode()}
    bad = verify_manifest(forged, root, org.trust()).signature
    assert not bad.ok and any("does not cover" in r for r in bad.reasons)


def test_timestamp_from_an_uncertified_tsa_is_rejected(org: Org, tsa: Responder, tmp_path: Path) -> None:
    """A token checked against the wrong bytes, or by a verifier that does not trust the TSA's CA, is not trusted time."""
    token = stamp(tsa, b"signature bytes", "test")
    assert check_token(token, b"signature bytes", org.trust(), "t").ok
    assert not check_token(token, b"other bytes", org.trust(), "t").ok
    stranger = check_token(token, b"signature bytes", Trust.from_store(org.store, tmp_path / "nobody"), "t")
    assert not stranger.ok and any("no trusted CA" in r for r in stranger.reasons)


def test_tsa_server_answers_rfc3161_requests_on_loopback(org: Org, pdfa: bytes, tsa_url: str) -> None:
    """`qms tsa serve`'s server timestamps a PDF signature over HTTP and rejects a request that is not RFC 3161."""
    signed, _ = sign_pdf(org.store, org.home, Signatory("alice", passphrase("alice")), pdfa, "authored", "doc:t", tsa=tsa_url)
    assert verify_pdf(signed, org.trust()).signatures[0].time_trusted
    request = urllib.request.Request(tsa_url, data=b"\x30\x03garbage", headers={"Content-Type": "application/timestamp-query"})
    with urllib.request.urlopen(request, timeout=10) as reply:  # noqa: S310 - a loopback URL made by the fixture
        answer = Refusal.load(reply.read())
    assert answer["status"]["status"].native == "rejection"
    assert answer["status"]["fail_info"].native == {"bad_data_format"}


def test_tsa_refuses_an_unsupported_digest(tsa: Responder) -> None:
    """A request whose imprint is not a SHA-2 digest of the right length is rejected with badAlg."""
    req = tsp.TimeStampReq({"version": 1, "message_imprint": tsp.MessageImprint(
        {"hash_algorithm": {"algorithm": "md5"}, "hashed_message": b"0" * 16}), "cert_req": True})
    answer = tsa.respond(req)
    assert answer["status"]["status"].native == "rejection"
    assert answer["status"]["fail_info"].native == {"bad_alg"}


def test_tsa_setting_is_local_or_a_url(org: Org, pdfa: bytes) -> None:
    """A TSA setting other than "local" or an http(s) URL is refused; "local" without an issued TSA signs nothing."""
    from qms.signing import SignatureRecord

    with pytest.raises(SigningError, match="local"):
        timestamper("ftp://tsa.example", org.home)
    with pytest.raises(SigningError, match="no time-stamping authority"):
        sign_pdf(org.store, org.home, Signatory("alice", passphrase("alice")), pdfa, "authored", "doc:t", tsa="local")
    assert org.store.all(SignatureRecord) == []


def test_pdf_timestamp_by_an_uncertified_tsa_fails_the_signature(org: Org, pdfa: bytes) -> None:
    """A PDF timestamp from a TSA whose certificate is not for time-stamping only (critical EKU) is not trusted time."""
    key = ec.generate_private_key(ec.SECP256R1())
    ca_key = load_key(org.home / "ca" / "ca.key.pem", CA_PASS)
    ca = org.trust().anchors[0]
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Loose TSA")]))
            .issuer_name(ca.subject).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(hours=1)).not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=False)
            .sign(ca_key, hashes.SHA256()))
    url, stop = _serve(Responder(cert, key))
    try:
        signed, _ = sign_pdf(org.store, org.home, Signatory("alice", passphrase("alice")), pdfa, "authored", "doc:t", tsa=url)
    finally:
        stop()
    status = verify_pdf(signed, org.trust()).signatures[0]
    assert not status.ok and not status.time_trusted
    assert any("not for time-stamping only" in r for r in status.reasons)


@pytest.mark.external
def test_openssl_verifies_the_tsa_tokens(org: Org, tsa: Responder, tmp_path: Path) -> None:
    """OpenSSL's `ts -verify`, an independent RFC 3161 implementation, accepts our TSA's reply against the CA certificate."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    data = tmp_path / "signature.bin"
    data.write_bytes(b"signature bytes")
    request = tsa.request_cms(hashlib.sha256(data.read_bytes()).digest(), "sha256")[1]
    (tmp_path / "reply.tsr").write_bytes(tsa.respond(request).dump())
    verified = subprocess.run(["openssl", "ts", "-verify", "-data", str(data), "-in", str(tmp_path / "reply.tsr"),
                               "-CAfile", str(org.home / "ca" / "ca.cert.pem")], capture_output=True, text=True, check=False)
    assert verified.returncode == 0 and "Verification: OK" in verified.stdout, verified.stdout + verified.stderr


@pytest.mark.parametrize("organisation", ["X", "Example Imaging AI Ltd (synthetic example)", "O" * 53])
def test_a_tsa_is_issued_whatever_the_length_of_the_organisation_name(tmp_path: Path, organisation: str) -> None:
    """Any organisation name the CA accepts gets a TSA whose common name fits the limit."""
    init_ca(tmp_path, organisation, CA_PASS)
    cert = issue_tsa(tmp_path, CA_PASS)
    [cn] = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    assert len(str(cn.value)) <= 64 and str(cn.value).endswith("time-stamping authority")
    assert cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == organisation
