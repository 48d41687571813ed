"""The outcome of verifying one signature: structured, never a bare yes or no."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["failed", "SignatureStatus"]


@dataclass(frozen=True)
class SignatureStatus:
    """What a verifier found about one signature.

    intact:  the signed bytes are exactly the bytes presented, and the signature value is
             the signer key's over them (§11.70);
    valid:   the certificate was within its validity period and not revoked when signing;
    trusted: a configured CA issued the certificate.
    `reasons` names every problem; `ok` holds only when all three hold and nothing is named.
    time_trusted: the signing time is an RFC 3161 timestamp that verified, not the signer's
             own claim; without it `warnings` says "time not trusted" (an error instead where
             the verifier requires trusted time, see `Trust.require_trusted_time`).
    """

    intact: bool
    valid: bool
    trusted: bool
    signer: str | None
    user_id: str | None
    meaning: str | None
    signed_at: str | None
    object_ref: str | None
    sha256: str | None
    interactive: bool | None
    certificate: str | None
    reasons: tuple[str, ...]
    field: str | None = None
    time_trusted: bool = False
    warnings: tuple[str, ...] = ()
    timestamped_at: str | None = None
    """The RFC 3161 timestamp's time when `time_trusted` (`signed_at` is the signer's own claim)."""

    @property
    def ok(self) -> bool:
        return self.intact and self.valid and self.trusted and not self.reasons

    def to_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "intact": self.intact, "valid": self.valid, "trusted": self.trusted,
                "signer": self.signer, "user_id": self.user_id, "meaning": self.meaning, "signed_at": self.signed_at,
                "object": self.object_ref, "sha256": self.sha256, "interactive": self.interactive,
                "certificate": self.certificate, "field": self.field, "time_trusted": self.time_trusted,
                "timestamped_at": self.timestamped_at,
                "reasons": list(self.reasons), "warnings": list(self.warnings)}


def failed(reason: str, **known: Any) -> SignatureStatus:
    """A status for a signature that could not even be read: nothing holds."""
    fields: dict[str, Any] = {k: None for k in ("signer", "user_id", "meaning", "signed_at", "object_ref", "sha256",
                                                 "interactive", "certificate")}
    fields.update(known)
    return SignatureStatus(intact=False, valid=False, trusted=False, reasons=(reason,), **fields)
