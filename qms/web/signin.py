"""Signing in (21 CFR 11.10(d), 11.300): user id and passphrase unlock the identity's key, or nothing opens.

`qms.signing.sign.unlock` is the one check of who someone is: an unknown or revoked
identity is refused, a wrong passphrase is audited (`signature.refused`) and five of them
lock the identity (`qms.signing.lockout`), all before any key is used. A service identity
never signs in to the browser: a person types their passphrase.
"""

from __future__ import annotations

from datetime import datetime

from qms import audit
from qms.signing.errors import SigningError, WrongPassphrase
from qms.signing.lockout import IdentityLocked
from qms.signing.meaning import Meaning, Role, SignatureMeaning
from qms.signing.sign import unlock
from qms.web.sessions import WebSession
from qms.web.state import AppState

__all__ = ["SignInRefused", "sign_in", "sign_out"]

_MEANING = Meaning(SignatureMeaning.STATED, "signed in to qms serve")


class SignInRefused(Exception):
    """Why sign-in was refused, in words safe to show (an unknown id and a wrong passphrase read alike)."""


def sign_in(state: AppState, user_id: str, passphrase: str, now: datetime) -> WebSession:
    """Unlock the key with the passphrase; on success open a session and audit it with the user as actor."""
    try:
        signer = unlock(state.store, state.settings.identity_dir, user_id, passphrase, _MEANING, now=now)
    except IdentityLocked as exc:
        raise SignInRefused(f"{exc.message}; {exc.hint}") from None
    except WrongPassphrase:
        raise SignInRefused("the user id or the passphrase is wrong (the attempt is recorded)") from None
    except SigningError as exc:
        if "revoked" in exc.message:
            raise SignInRefused(exc.message) from None
        audit.record(state.store, audit.EventSpec("unauthenticated", "session.refused", f"user:{user_id[:64]}",
                                                  details={"reason": "no such identity, or it cannot sign now"}))
        raise SignInRefused("the user id or the passphrase is wrong (the attempt is recorded)") from None
    if signer.identity.role is Role.SERVICE:
        raise SignInRefused(f"{user_id} is a service identity: only people sign in to the browser")
    return state.sessions.open(user_id, now, {
        "certificate": signer.identity.fingerprint, "via": "qms serve",
        "idle_minutes": int(state.settings.idle_timeout.total_seconds() // 60)})


def sign_out(state: AppState, token: str) -> None:
    session = state.sessions.close(token, state.settings.clock())
    if session is not None:
        audit.record(state.store, audit.EventSpec(session.user_id, "session.close", f"user:{session.user_id}"))
