"""RFC 3161 timestamps: with a TSA URL configured, a PDF signature carries a trusted timestamp.

The TSA is pyHanko's DummyTimeStamper served over HTTP on 127.0.0.1 inside the test, so
no network is used; its certificate is issued by the test organisation's CA.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from asn1crypto import keys as asn1_keys
from asn1crypto import tsp
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from pyhanko.sign.timestamps.dummy_client import DummyTimeStamper

from qms.signing import SignatureRecord, SigningError
from qms.signing.keys import load_certificate, load_key
from qms.signing.pdf import Signatory, sign_pdf, verify_pdf
from qms.signing.pdf.document import asn1
from tests.signing.orgkit import CA_PASS, Org, passphrase

def _tsa_certificate(org: Org, at: dt.datetime) -> tuple[x509.Certificate, rsa.RSAPrivateKey]:
    ca_key = load_key(org.home / "ca" / "ca.key.pem", CA_PASS)
    ca_cert = load_certificate((org.home / "ca" / "ca.cert.pem").read_bytes(), "ca")
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)  # pyHanko's dummy TSA signs with RSA only
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Test TSA")]))
        .issuer_name(ca_cert.subject).public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(at - dt.timedelta(days=1)).not_valid_after(at + dt.timedelta(days=30))
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_cert.public_key()), critical=False)  # type: ignore[arg-type]
        .sign(ca_key, hashes.SHA256())
    )
    return cert, key


@pytest.fixture
def tsa_time(org: Org) -> dt.datetime:
    """The TSA's fixed clock: after the signers' certificates were issued (X.509 keeps whole seconds)."""
    return dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(seconds=1)


@pytest.fixture
def tsa_url(org: Org, tsa_time: dt.datetime) -> Iterator[str]:
    cert, key = _tsa_certificate(org, tsa_time)
    der = key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    stamper = DummyTimeStamper(asn1(cert), asn1_keys.PrivateKeyInfo.load(der), fixed_dt=tsa_time)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - the http.server hook's name
            body = self.rfile.read(int(self.headers["Content-Length"]))
            reply = stamper.request_tsa_response(tsp.TimeStampReq.load(body)).dump()
            self.send_response(200)
            self.send_header("Content-Type", "application/timestamp-reply")
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, *args: object) -> None:
            return

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/tsa"
    server.shutdown()
    server.server_close()


def test_signature_carries_a_trusted_rfc3161_timestamp(org: Org, pdfa: bytes, tsa_url: str,
                                                       tsa_time: dt.datetime) -> None:
    """With a TSA URL the signature embeds a timestamp, and verification uses the TSA's time as the signing time."""
    signed, _ = sign_pdf(org.store, org.home, Signatory("alice", passphrase("alice")), pdfa, "authored", "doc:t", tsa=tsa_url)
    status = verify_pdf(signed, org.trust()).signatures[0]
    assert status.ok, status.reasons
    assert status.signed_at == tsa_time.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def test_unreachable_tsa_signs_nothing(org: Org, pdfa: bytes) -> None:
    """When the configured TSA does not answer, signing fails with a clear error and nothing is recorded."""
    with pytest.raises(SigningError, match="timestamp server"):
        sign_pdf(org.store, org.home, Signatory("alice", passphrase("alice")), pdfa, "authored", "doc:t", tsa="http://127.0.0.1:9/tsa")
    assert org.store.all(SignatureRecord) == []
