"""DSSE envelopes (Dead Simple Signing Envelope v1, secure-systems-lab/dsse, envelope.md).

The signature covers PAE(payloadType, payload), never the bare payload, so a payload
cannot be re-read as another type.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any

from cryptography import x509

from qms.hashing import canonical_json
from qms.signing import keys
from qms.signing.errors import SigningError

__all__ = ["Envelope", "pae", "seal"]


def pae(payload_type: str, payload: bytes) -> bytes:
    """Pre-Authentication Encoding: "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body."""
    kind = payload_type.encode()
    return b"DSSEv1 %d %s %d %s" % (len(kind), kind, len(payload), payload)


@dataclass(frozen=True)
class Envelope:
    """A DSSE envelope with one signature; `keyid` is the signer's certificate fingerprint."""

    payload_type: str
    payload: bytes
    keyid: str
    sig: bytes

    def to_json(self) -> dict[str, Any]:
        return {
            "payloadType": self.payload_type,
            "payload": base64.b64encode(self.payload).decode(),
            "signatures": [{"keyid": self.keyid, "sig": base64.b64encode(self.sig).decode()}],
        }

    def to_text(self) -> str:
        return canonical_json(self.to_json()).decode()

    @classmethod
    def from_json(cls, data: Any, where: str) -> Envelope:
        """Parse an envelope; anything malformed is an error naming `where`."""
        try:
            sigs = data["signatures"]
            if not isinstance(sigs, list) or len(sigs) != 1:
                raise SigningError("a qms DSSE envelope carries exactly one signature", where=where)
            return cls(str(data["payloadType"]), base64.b64decode(data["payload"], validate=True),
                       str(sigs[0]["keyid"]), base64.b64decode(sigs[0]["sig"], validate=True))
        except (KeyError, TypeError, binascii.Error) as exc:
            raise SigningError(f"not a DSSE envelope: {exc}", where=where) from exc

    @classmethod
    def from_text(cls, text: str, where: str) -> Envelope:
        try:
            return cls.from_json(json.loads(text), where)
        except ValueError as exc:
            raise SigningError(f"not a DSSE envelope: {exc}", where=where) from exc

    def payload_json(self, where: str) -> dict[str, Any]:
        try:
            data = json.loads(self.payload)
        except ValueError as exc:
            raise SigningError(f"the envelope's payload is not JSON: {exc}", where=where) from exc
        if not isinstance(data, dict):
            raise SigningError("the envelope's payload is not a JSON object", where=where)
        return data

    def verify(self, cert: x509.Certificate) -> bool:
        """True when `cert`'s key signed PAE(type, payload) and the keyid names that certificate."""
        return self.keyid == keys.fingerprint(cert) and keys.verify_data(cert, self.sig, pae(self.payload_type, self.payload))


def seal(key: keys.PrivateKey, cert: x509.Certificate, payload_type: str, payload: bytes) -> Envelope:
    return Envelope(payload_type, payload, keys.fingerprint(cert), keys.sign_data(key, pae(payload_type, payload)))
