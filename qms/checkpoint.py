"""Signed audit checkpoints: the chain head published outside the database.

A hash chain shows that no single event changed, but someone with database access could
rewrite every event and recompute every hash. A checkpoint — store id, sequence number
and head hash at a moment, signed with an Ed25519 key that never lives in the store —
pins the chain: `verify --against` fails if the checkpointed event is no longer there
with that hash.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from qms import audit
from qms.atomic import write_private
from qms.errors import CheckFailed, QmsError
from qms.hashing import canonical_json, sha256_hex
from qms.store import Store

__all__ = ["Checkpoint", "create", "KEY_FILE", "key_fingerprint", "KIND", "load_key", "load_or_create_key", "load_public_key",
           "verify_against"]

KIND = "qms-audit-checkpoint/v1"
KEY_FILE = "checkpoint-key.pem"
"""The checkpoint key's file name in the user's QMS_HOME (never in the store or the repository)."""


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _public_raw(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_fingerprint(key: Ed25519PublicKey) -> str:
    return sha256_hex(_public_raw(key))[:32]


def load_key(path: Path) -> Ed25519PrivateKey:
    """The checkpoint key at `path`; never created here, since verifying against a new key would prove nothing."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise QmsError(f"the checkpoint key {path} is missing", where=str(path),
                       hint="restore the key file from backup, or pass the trusted public key with --trusted-key") from None
    except OSError as exc:
        raise QmsError(f"cannot read the checkpoint key: {exc.strerror}", where=str(path)) from exc
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except ValueError as exc:
        raise QmsError("not a readable checkpoint key", where=str(path), hint="restore the key file from backup") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise QmsError("the checkpoint key is not an Ed25519 key", where=str(path))
    return key


def load_or_create_key(path: Path) -> Ed25519PrivateKey:
    """The checkpoint key at `path`, created (mode 0600) on first use: only for signing a checkpoint."""
    if path.exists():
        return load_key(path)
    key = Ed25519PrivateKey.generate()
    write_private(path, key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))
    return key


def load_public_key(path: Path, what: str) -> Ed25519PublicKey:
    """An Ed25519 public key from a PEM file; `what` names it in the error (the trusted key, its .pub.pem...)."""
    try:
        key = serialization.load_pem_public_key(path.read_bytes())
    except (OSError, ValueError) as exc:
        raise QmsError(f"cannot read the {what}: {exc}", where=str(path)) from exc
    if not isinstance(key, Ed25519PublicKey):
        raise QmsError(f"the {what} is not an Ed25519 public key", where=str(path))
    return key


@dataclass(frozen=True)
class Checkpoint:
    store_id: str
    seq: int
    head_hash: str
    time: str
    public_key: str
    signature: str

    def body(self) -> dict[str, Any]:
        return {"kind": KIND, "store_id": self.store_id, "seq": self.seq, "head_hash": self.head_hash,
                "time": self.time, "public_key": self.public_key}

    def to_json(self) -> dict[str, Any]:
        return {**self.body(), "signature": self.signature}

    @property
    def signer_fingerprint(self) -> str:
        return sha256_hex(base64.b64decode(self.public_key))[:32]

    @classmethod
    def from_json(cls, data: Any, where: str) -> Checkpoint:
        if not isinstance(data, dict) or data.get("kind") != KIND:
            raise QmsError(f"not a {KIND} document", where=where)
        try:
            return cls(str(data["store_id"]), int(data["seq"]), str(data["head_hash"]), str(data["time"]),
                       str(data["public_key"]), str(data["signature"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise QmsError(f"checkpoint field missing or malformed: {exc}", where=where) from exc

    def check_signature(self, trusted: Ed25519PublicKey, where: str) -> None:
        """Fail closed unless the trusted key made this exact checkpoint."""
        if base64.b64decode(self.public_key) != _public_raw(trusted):
            raise CheckFailed(
                f"checkpoint signed by an untrusted key {self.signer_fingerprint}",
                where=where, hint=f"the trusted checkpoint key is {key_fingerprint(trusted)}",
            )
        try:
            trusted.verify(base64.b64decode(self.signature), canonical_json(self.body()))
        except InvalidSignature as exc:
            raise CheckFailed("the checkpoint's signature is not valid: the file was altered", where=where) from exc


def create(store: Store, key: Ed25519PrivateKey, head: tuple[int, str] | None = None) -> Checkpoint:
    """Sign the current head of the store's chain, or `head` (the one a verification just reached)."""
    seq, head_hash = head or audit.head(store)
    unsigned = Checkpoint(store.store_id, seq, head_hash, datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                          _b64(_public_raw(key.public_key())), "")
    return Checkpoint(**{**unsigned.__dict__, "signature": _b64(key.sign(canonical_json(unsigned.body())))})


def verify_against(store: Store, checkpoint: Checkpoint, trusted: Ed25519PublicKey, where: str) -> audit.ChainReport:
    """Check the checkpoint's signature and store, then recompute the chain through it."""
    checkpoint.check_signature(trusted, where)
    if checkpoint.store_id != store.store_id:
        raise CheckFailed(f"the checkpoint is of store {checkpoint.store_id}, not of this one ({store.store_id})", where=where)
    return audit.verify(store, expected=(checkpoint.seq, checkpoint.head_hash))
