"""The organisation's time-stamping authority: an RFC 3161 responder whose certificate the CA issues.

`issue_tsa` makes the TSA's key and certificate (extended key usage timeStamping, critical,
as RFC 3161 §2.3 requires) from the self-managed CA; `load_responder` returns the responder
that qms uses in-process (`[tool.qms.signing] tsa = "local"`) and that `qms tsa serve`
answers HTTP requests with. The key signs unattended, so like the audit checkpoint key it
is stored unencrypted, readable by its owner only (mode 0600), in QMS_HOME/tsa.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from asn1crypto import algos, cms, core, tsp
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from pyhanko.sign.general import as_signing_certificate_v2, simple_cms_attribute
from pyhanko.sign.timestamps.api import TimeStamper

from qms import atomic
from qms.signing import keys
from qms.signing.errors import SigningError
from qms.signing.identity import ca_key_pair
from qms.signing.trust import iso

__all__ = ["POLICY", "TSA_DAYS", "Refusal", "Responder", "issue_tsa", "load_responder", "refusal", "tsa_paths"]

TSA_DIR = "tsa"
TSA_DAYS = 1825
# The TSA policy (RFC 3161 §2.4.2 TSAPolicyId): a UUID-based OID (ITU-T X.667), needing no registration.
POLICY = "2.25.227016374113593339787546302858787427906"
_DIGESTS = {"sha256": 32, "sha384": 48, "sha512": 64}


def tsa_paths(directory: Path) -> tuple[Path, Path]:
    return directory / TSA_DIR / "tsa.key.pem", directory / TSA_DIR / "tsa.cert.pem"


def _tsa_certificate(ca_key: keys.PrivateKey, ca_cert: x509.Certificate, key: ec.EllipticCurvePrivateKey,
                     not_before: datetime, days: int) -> x509.Certificate:
    org = ca_cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)
    organisation = str(org[0].value) if org else "qmskit"
    # X.520 caps a common name at 64 characters (RFC 5280 ub-common-name); the organisation is in O anyway.
    common = f"{organisation} time-stamping authority"
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common if len(common) <= 64 else "time-stamping authority"),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation)])
    ski = ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    return (
        x509.CertificateBuilder().subject_name(name).issuer_name(ca_cert.subject).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before).not_valid_after(min(not_before + timedelta(days=days), ca_cert.not_valid_after_utc))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=True, key_encipherment=False,
                                     data_encipherment=False, key_agreement=False, key_cert_sign=False, crl_sign=False,
                                     encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)  # RFC 3161 §2.3
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False)
        .sign(ca_key, hashes.SHA256())
    )


def issue_tsa(directory: Path, ca_passphrase: str, *, days: int = TSA_DAYS, now: datetime | None = None) -> x509.Certificate:
    """Make the organisation TSA's key and have the self-managed CA certify it for time-stamping only."""
    key_path, cert_path = tsa_paths(directory)
    if key_path.exists() or cert_path.exists():
        raise SigningError("a time-stamping authority already exists here", where=str(key_path.parent),
                           hint="move the tsa folder away (keep its certificate: earlier timestamps name it) to issue a new one")
    ca_key, ca_cert = ca_key_pair(directory, ca_passphrase)
    key = keys.generate_key()
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    cert = _tsa_certificate(ca_key, ca_cert, key, moment - timedelta(minutes=5), days)
    atomic.write_private(key_path, key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                   serialization.NoEncryption()))
    atomic.write_text(cert_path, keys.cert_pem(cert))
    return cert


class Refusal(core.Sequence):  # type: ignore[misc]  # asn1crypto is untyped
    """A TimeStampResp without a token (RFC 3161 §2.4.2: the token is OPTIONAL; asn1crypto's type requires it)."""

    _fields = [("status", tsp.PKIStatusInfo)]


def refusal(failure: str, text: str) -> Refusal:
    """A rejection naming its PKIFailureInfo bit and why, in words."""
    return Refusal({"status": tsp.PKIStatusInfo({"status": tsp.PKIStatus("rejection"), "status_string": tsp.PKIFreeText([text]),
                                                 "fail_info": tsp.PKIFailureInfo({failure})})})


def _attribute(kind: str, value: object) -> cms.CMSAttribute:
    return simple_cms_attribute(kind, value)  # type: ignore[no-untyped-call]  # pyHanko's helper is untyped


class Responder(TimeStamper):
    """An RFC 3161 time-stamping authority signing with its ECDSA key; also a pyHanko TimeStamper for in-process use."""

    def __init__(self, cert: x509.Certificate, key: ec.EllipticCurvePrivateKey,
                 clock: Callable[[], datetime] | None = None) -> None:
        super().__init__(include_nonce=True)  # type: ignore[no-untyped-call]  # pyHanko's constructor is untyped
        self.certificate = cert
        self._key = key
        self._asn1_cert = asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))
        self._clock = clock or (lambda: datetime.now(UTC))

    def respond(self, req: tsp.TimeStampReq) -> tsp.TimeStampResp | Refusal:
        """RFC 3161 §2.4.2: a granted token over the request's imprint, or a rejection naming why."""
        try:
            imprint = req["message_imprint"]
            algorithm = imprint["hash_algorithm"]["algorithm"].native
            digest = imprint["hashed_message"].native
            version = req["version"].native
        except (ValueError, KeyError, TypeError):
            return refusal("bad_data_format", "unreadable request")
        if version != "v1":
            return refusal("bad_request", "only version 1 requests")
        if _DIGESTS.get(algorithm) != len(digest or b""):
            return refusal("bad_alg", "the imprint must be a SHA-256, SHA-384 or SHA-512 digest")
        if req["req_policy"].native not in (None, POLICY):
            return refusal("unaccepted_policy", f"this TSA issues timestamps under policy {POLICY} only")
        moment = self._clock().astimezone(UTC)
        cert = self.certificate
        if not cert.not_valid_before_utc <= moment <= cert.not_valid_after_utc:
            return refusal("system_failure", f"the TSA certificate is not valid at {iso(moment)}")
        info: dict[str, object] = {
            "version": "v1", "policy": POLICY, "message_imprint": imprint, "serial_number": x509.random_serial_number(),
            "gen_time": core.GeneralizedTime(moment), "accuracy": tsp.Accuracy({"seconds": 1}),
            "tsa": asn1_x509.GeneralName(name="directory_name", value=self._asn1_cert.subject),
        }
        if req["nonce"].native is not None:
            info["nonce"] = req["nonce"]
        token = self._token(tsp.TSTInfo(info).dump(), moment, bool(req["cert_req"].native))
        return tsp.TimeStampResp({"status": tsp.PKIStatusInfo({"status": tsp.PKIStatus("granted")}), "time_stamp_token": token})

    def _token(self, tst_info: bytes, moment: datetime, with_certificate: bool) -> cms.ContentInfo:
        """SignedData over the TSTInfo, the signer named by ESSCertIDv2 (RFC 5816)."""
        signed_attrs = cms.CMSAttributes([
            _attribute("content_type", "tst_info"),
            _attribute("signing_time", cms.Time({"generalized_time": core.GeneralizedTime(moment)})),
            _attribute("signing_certificate_v2", as_signing_certificate_v2(self._asn1_cert, "sha256")),
            _attribute("message_digest", hashlib.sha256(tst_info).digest()),
        ])
        signature = self._key.sign(signed_attrs.dump(), ec.ECDSA(hashes.SHA256()))
        digest_algorithm = algos.DigestAlgorithm({"algorithm": "sha256"})
        signer = cms.SignerInfo({
            "version": "v1",
            "sid": cms.SignerIdentifier({"issuer_and_serial_number": cms.IssuerAndSerialNumber(
                {"issuer": self._asn1_cert.issuer, "serial_number": self._asn1_cert.serial_number})}),
            "digest_algorithm": digest_algorithm,
            "signature_algorithm": algos.SignedDigestAlgorithm({"algorithm": "sha256_ecdsa"}),
            "signed_attrs": signed_attrs, "signature": signature,
        })
        data: dict[str, object] = {
            "version": "v3", "digest_algorithms": cms.DigestAlgorithms((digest_algorithm,)),
            "encap_content_info": cms.EncapsulatedContentInfo(
                {"content_type": "tst_info", "content": cms.ParsableOctetString(tst_info)}),
            "signer_infos": [signer],
        }
        if with_certificate:
            data["certificates"] = [self._asn1_cert]
        return cms.ContentInfo({"content_type": "signed_data", "content": cms.SignedData(data)})

    async def async_request_tsa_response(self, req: tsp.TimeStampReq) -> tsp.TimeStampResp | Refusal:
        return self.respond(req)


def load_responder(directory: Path, clock: Callable[[], datetime] | None = None) -> Responder:
    """The organisation TSA of this identity directory, ready to answer requests."""
    key_path, cert_path = tsa_paths(directory)
    if not cert_path.exists():
        raise SigningError("no time-stamping authority here", where=str(cert_path.parent),
                           hint="issue one with `qms ca issue-tsa`, or set [tool.qms.signing] tsa to a TSA's URL")
    cert = keys.load_certificate(cert_path.read_bytes(), str(cert_path))
    try:
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    except (OSError, ValueError) as exc:
        raise SigningError("not a readable TSA key", where=str(key_path), hint="restore it from backup") from exc
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise SigningError("the TSA key is not an ECDSA key", where=str(key_path))
    keys.check_key_matches(key, cert, str(key_path))
    return Responder(cert, key, clock)
