"""Errors of signing: each says what was refused and why; nothing is signed or recorded."""

from __future__ import annotations

from qms.errors import QmsError

__all__ = ["SigningError", "WrongPassphrase"]


class SigningError(QmsError):
    """A signature was refused: wrong passphrase, unusable key, revoked certificate, bad input."""


class WrongPassphrase(SigningError):
    """The passphrase did not decrypt the key: the attempt is audited (§11.300(d))."""
