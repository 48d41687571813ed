"""Whether a signer the release plan names can sign now: registered, not revoked, certificate valid."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from qms.signing import SigningError, identity
from qms.store import Store

__all__ = ["signer_problem"]


def signer_problem(store: Store, identity_dir: Path | None, user_id: str) -> str | None:
    """Why `user_id` cannot sign now (unknown, revoked, certificate not valid), or None when they can."""
    if identity_dir is None:
        return "no identity directory configured"
    try:
        ident = identity(store, identity_dir, user_id)
    except SigningError as exc:
        return exc.message
    now = datetime.now(UTC)
    if ident.revoked:
        return f"the certificate of {user_id} is revoked"
    if not ident.certificate.not_valid_before_utc <= now <= ident.certificate.not_valid_after_utc:
        return f"the certificate of {user_id} is not valid now"
    return None
