"""An unlocked signing session: who acts, proven by a key unlocked with its passphrase (21 CFR 11.10(d), 11.200(a)).

`open_session` decrypts the user's key once (the wrong-passphrase lockout applies) and writes
a token to the identity directory: the user id, certificate, expiry and a nonce, signed with
that key. `session_actor` accepts the token only while it has not expired, its certificate
chains to a trusted CA and names the user, and its signature verifies, so a name typed into
QMS_USER or a copied token of another user proves nothing. Signatures still ask for the
passphrase at every signing (§11.200(a)(1)); the session names the actor of everything else.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from qms import audit
from qms.atomic import write_private
from qms.hashing import canonical_json
from qms.signing import keys
from qms.signing.meaning import Meaning, SignatureMeaning
from qms.signing.sign import unlock
from qms.signing.identity import user_paths
from qms.signing.trust import iso, load_anchors, parse_iso
from qms.store import Store

__all__ = ["DEFAULT_TIMEOUT", "SESSION_FILE", "Session", "close_session", "open_session", "session_actor"]

SESSION_FILE = "session.json"
SESSION_KIND = "qms-session/v1"
DEFAULT_TIMEOUT = timedelta(minutes=30)


@dataclass(frozen=True)
class Session:
    """The identity this session acts as, and until when."""

    user_id: str
    certificate: str
    expires_at: datetime


def open_session(store: Store, identity_dir: Path, user_id: str, passphrase: str, *,
                 timeout: timedelta = DEFAULT_TIMEOUT, now: datetime | None = None) -> Session:
    """Unlock `user_id`'s key with the passphrase and write the signed session token; the unlock is audited."""
    signer = unlock(store, identity_dir, user_id, passphrase, Meaning(SignatureMeaning.STATED, "unlocked a session"),
                    now=now)
    expires = signer.signed_at + timeout
    body = {"kind": SESSION_KIND, "user_id": user_id, "certificate": signer.identity.fingerprint,
            "issued_at": signer.signed_at_text, "expires_at": iso(expires), "nonce": secrets.token_hex(16)}
    token = {**body, "signature": keys.sign_data(signer.key, canonical_json(body)).hex()}
    path = identity_dir / SESSION_FILE
    path.unlink(missing_ok=True)
    write_private(path, json.dumps(token, sort_keys=True).encode())
    audit.record(store, audit.EventSpec(user_id, "identity.unlock", f"user:{user_id}", details={
        "certificate": signer.identity.fingerprint, "expires_at": body["expires_at"]}))
    return Session(user_id, signer.identity.fingerprint, expires)


def _token(identity_dir: Path) -> dict[str, Any] | None:
    try:
        doc = json.loads((identity_dir / SESSION_FILE).read_bytes())
    except (OSError, ValueError):
        return None
    return doc if isinstance(doc, dict) and doc.get("kind") == SESSION_KIND else None


def session_actor(identity_dir: Path, *, now: datetime | None = None) -> Session | None:
    """The session's identity when its token is current and proven by its key; None otherwise (never a guess)."""
    token = _token(identity_dir)
    if token is None:
        return None
    body = {k: v for k, v in token.items() if k != "signature"}
    try:
        user_id, fp = str(body["user_id"]), str(body["certificate"])
        expires = parse_iso(str(body["expires_at"]))
        cert = keys.load_certificate(user_paths(identity_dir, user_id, fp)[1].read_bytes(), SESSION_FILE)
        signature = bytes.fromhex(str(token["signature"]))
    except (KeyError, ValueError, OSError):
        return None
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    proven = (keys.fingerprint(cert) == fp and keys.subject_user_id(cert) == user_id and moment < expires
              and cert.not_valid_before_utc <= moment <= cert.not_valid_after_utc
              and any(keys.issued_by(cert, a) for a in load_anchors(identity_dir))
              and keys.verify_data(cert, signature, canonical_json(body)))
    return Session(user_id, fp, expires) if proven else None


def close_session(identity_dir: Path) -> str | None:
    """Remove the session token; returns whose it was."""
    token = _token(identity_dir)
    (identity_dir / SESSION_FILE).unlink(missing_ok=True)
    return str(token.get("user_id")) if token else None
