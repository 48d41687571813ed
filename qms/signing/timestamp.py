"""Trusted time: RFC 3161 timestamps asked of the configured TSA, and checked offline.

A signature's own time is the signer's claim; a timestamp token over the signature bytes,
signed by a time-stamping authority the organisation CA certified, is the proof that the
signature existed then (RFC 3161 §1). `[tool.qms.signing] tsa` names the TSA: "local" (the
organisation's own, in-process, `qms.signing.tsa`) or an http(s) URL (`qms tsa serve`, or
another RFC 3161 service).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from asn1crypto import cms
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import ExtendedKeyUsageOID
from pyhanko.sign.timestamps import HTTPTimeStamper, TimestampRequestError
from pyhanko.sign.timestamps.api import TimeStamper
from pyhanko.sign.validation.errors import SignatureValidationError
from pyhanko.sign.validation.generic_cms import validate_tst_signed_data
from pyhanko.sign.validation.status import TimestampSignatureStatus
from pyhanko_certvalidator import ValidationContext

from qms.signing import keys
from qms.signing.errors import SigningError
from qms.signing.trust import Trust

__all__ = ["LOCAL", "TokenCheck", "check_token", "judge_tsa", "stamp", "stamp_signature", "timestamper", "trusted_time",
           "tsa_certificate_problem", "tsa_problem"]

LOCAL = "local"


def timestamper(setting: object, identity_dir: Path) -> TimeStamper | None:
    """The TSA that `setting` names: none, "local" (this organisation's TSA, in-process) or an http(s) URL."""
    if setting is None or setting == "":
        return None
    if setting == LOCAL:
        from qms.signing.tsa import load_responder

        return load_responder(identity_dir)
    if isinstance(setting, str) and setting.startswith(("http://", "https://")):
        return HTTPTimeStamper(setting)
    raise SigningError(f"signing.tsa must be \"local\" or an http(s) URL, not {setting!r}", where="[tool.qms.signing] tsa")


def stamp(tsa: TimeStamper, data: bytes, where: str) -> bytes:
    """A timestamp token (DER ContentInfo) over the SHA-256 of `data`; a TSA that does not answer is an error."""
    try:
        token = asyncio.run(tsa.async_timestamp(hashlib.sha256(data).digest(), "sha256"))
    except (TimestampRequestError, OSError, ValueError) as exc:  # ValueError: a reply asn1crypto cannot parse
        raise SigningError(f"the timestamp server did not answer with a timestamp: {exc}", where=where,
                           hint="check [tool.qms.signing] tsa; nothing was signed") from exc
    return bytes(token.dump())


def stamp_signature(tsa: str, identity_dir: Path, sig: bytes, where: str) -> str | None:
    """The RFC 3161 token (base64) over a DSSE envelope's signature bytes from the TSA `tsa` names (None: no TSA)."""
    authority = timestamper(tsa, identity_dir)
    return None if authority is None else base64.b64encode(stamp(authority, sig, where)).decode()


def trusted_time(encoded: object, sig: bytes, trust: Trust, where: str) -> tuple[datetime | None, tuple[str, ...]]:
    """The time of a base64 token over `sig` when it verifies offline; the reasons when it does not."""
    try:
        token = base64.b64decode(str(encoded), validate=True)
    except binascii.Error:
        return None, (f"{where}: the timestamp is not base64",)
    check = check_token(token, sig, trust, where)
    return (check.time if check.ok else None), check.reasons


def tsa_certificate_problem(cert: x509.Certificate) -> str | None:
    """RFC 3161 §2.3: a TSA certificate has exactly one extended key usage, timeStamping, marked critical."""
    try:
        eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage)
    except x509.ExtensionNotFound:
        return f"the certificate of {keys.subject_name(cert)} is not a time-stamping certificate (no extended key usage)"
    if list(eku.value) != [ExtendedKeyUsageOID.TIME_STAMPING] or not eku.critical:
        return f"the certificate of {keys.subject_name(cert)} is not for time-stamping only (critical extended key usage)"
    return None


@dataclass(frozen=True)
class TokenCheck:
    """A timestamp token checked against the bytes it should cover: `time` is trusted only when `ok`."""

    time: datetime | None
    tsa: str | None
    reasons: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return self.time is not None and not self.reasons


def check_token(token: bytes, data: bytes, trust: Trust, where: str) -> TokenCheck:
    """Verify a token offline: it covers `data`, its signature holds, a trusted CA certified its TSA for time-stamping."""
    try:
        content = cms.ContentInfo.load(token)
        signed = content["content"]
        if content["content_type"].native != "signed_data" or not isinstance(signed, cms.SignedData):
            return TokenCheck(None, None, (f"{where}: the timestamp token is not CMS SignedData",))
        gen_time = signed["encap_content_info"]["content"].parsed["gen_time"].native
        context = ValidationContext(trust_roots=[
            asn1_x509.Certificate.load(a.public_bytes(serialization.Encoding.DER)) for a in trust.anchors], allow_fetching=False, moment=gen_time)
        kwargs = asyncio.run(validate_tst_signed_data(
            signed, context, lambda algorithm: hashlib.new(algorithm, data).digest()))
        status = TimestampSignatureStatus(**kwargs)
    except (ValueError, TypeError, KeyError, AttributeError, SignatureValidationError) as exc:
        return TokenCheck(None, None, (f"{where}: the timestamp token is unreadable: {exc}",))
    if status.signing_cert is None:
        return TokenCheck(None, None, (f"{where}: the timestamp token carries no TSA certificate",))
    cert = x509.load_der_x509_certificate(status.signing_cert.dump())
    reasons = []
    if not status.intact:
        reasons.append(f"{where}: the timestamp token does not cover this signature")
    elif not status.valid:
        reasons.append(f"{where}: the timestamp token's signature does not verify")
    return TokenCheck(status.timestamp, keys.subject_name(cert),
                      tuple(reasons) + judge_tsa(cert, status.timestamp, status.trusted, trust, where))


def judge_tsa(cert: x509.Certificate, at: datetime, chain_ok: bool, trust: Trust, where: str) -> tuple[str, ...]:
    """The TSA that signed a timestamp: certified by a trusted CA for time-stamping, not revoked at `at`."""
    reasons = []
    if not chain_ok or not any(keys.issued_by(cert, a) for a in trust.anchors):
        reasons.append(f"{where}: the timestamp was signed by {keys.subject_name(cert)}, "
                       "which no trusted CA certified as a time-stamping authority at that time")
    problem = tsa_certificate_problem(cert)
    if problem:
        reasons.append(f"{where}: {problem}")
    rev = trust.revocation_of(cert)
    if rev is not None and at >= rev.revoked_at:
        reasons.append(f"{where}: the time-stamping authority's certificate was revoked before this timestamp")
    return tuple(reasons)


def tsa_problem(setting: object, identity_dir: Path, trust: Trust) -> str | None:
    """Why the configured TSA cannot give signatures trusted time now, or None: a probe is stamped and checked offline."""
    probe = b"qmskit time-stamping probe"
    try:
        authority = timestamper(setting, identity_dir)
        if authority is None:
            return None
        token = stamp(authority, probe, "[tool.qms.signing] tsa")
    except SigningError as exc:
        return exc.message
    check = check_token(token, probe, trust, "the TSA's probe timestamp")
    return None if check.ok else "; ".join(check.reasons)
