"""Signing records: users, their certificates, revocations and signatures (append-only).

A user's rotation or revocation is a new row, never an edit, so the registry at any past
moment can be read back (§11.10(e), §11.300(b)).
"""

from __future__ import annotations

from sqlmodel import Field

from qms.store import Record

__all__ = ["SignatureRecord", "SigningCertificate", "SigningRevocation", "SigningUser"]


class SigningUser(Record, table=True):
    """A person or CI service identity who may sign (§11.100: unique to one owner)."""

    __tablename__ = "signing_user"

    user_id: str = Field(nullable=False, max_length=64, index=True)
    name: str = Field(nullable=False, max_length=200, description="printed name (§11.50(a)(1))")
    role: str = Field(nullable=False, max_length=32)


class SigningCertificate(Record, table=True):
    """A certificate registered for a user; the newest one of a user is the one that signs."""

    __tablename__ = "signing_certificate"

    user_id: str = Field(nullable=False, max_length=64, index=True)
    fingerprint: str = Field(nullable=False, max_length=64, unique=True, description="sha256 of the DER")
    serial: str = Field(nullable=False, max_length=64)
    subject: str = Field(nullable=False, max_length=400)
    issuer: str = Field(nullable=False, max_length=400)
    not_before: str = Field(nullable=False, max_length=32)
    not_after: str = Field(nullable=False, max_length=32)
    pem: str = Field(nullable=False)


class SigningRevocation(Record, table=True):
    """A certificate withdrawn from signing at `revoked_at` (superseded by rotation, or revoked)."""

    __tablename__ = "signing_revocation"

    fingerprint: str = Field(nullable=False, max_length=64, index=True)
    user_id: str = Field(nullable=False, max_length=64)
    revoked_at: str = Field(nullable=False, max_length=32, description="UTC, ISO 8601")
    reason: str = Field(nullable=False, max_length=200)


class SignatureRecord(Record, table=True):
    """One signature (§11.50, §11.70): who, when, meaning what, over which exact bytes.

    `envelope` is the DSSE envelope over the signature statement, so the record verifies
    by itself; `sha256` is the digest of the bytes signed, `output_sha256` that of the
    signed file where signing produced one (a PDF revision).
    """

    __tablename__ = "signature"

    user_id: str = Field(nullable=False, max_length=64, index=True)
    printed_name: str = Field(nullable=False, max_length=200)
    role: str = Field(nullable=False, max_length=32)
    meaning: str = Field(nullable=False, max_length=16)
    reason: str | None = Field(default=None, max_length=200)
    signed_at: str = Field(nullable=False, max_length=32, description="UTC, ISO 8601")
    object_ref: str = Field(nullable=False, max_length=300, index=True)
    sha256: str = Field(nullable=False, max_length=64, index=True)
    output_sha256: str | None = Field(default=None, max_length=64)
    kind: str = Field(nullable=False, max_length=16, description="bytes, pdf or manifest")
    interactive: bool = Field(nullable=False, description="False for a CI service identity")
    cert_fingerprint: str = Field(nullable=False, max_length=64)
    envelope: str = Field(nullable=False, description="DSSE envelope, canonical JSON")
    timestamp: str | None = Field(default=None, description="RFC 3161 token (base64) over the envelope's signature bytes")
