"""How an audit actor that no passphrase proved is written: `unverified:` and the claimed name (21 CFR 11.10(e)).

Its own module, importing nothing, so that the trace code and the gate can tell an
unverified actor without loading the signing machinery (`qms.signing.attribution` decides
when such an actor may be recorded at all).
"""

from __future__ import annotations

__all__ = ["UNVERIFIED", "is_unverified", "unverified"]

UNVERIFIED = "unverified:"
"""The prefix of an audit actor that no passphrase proved (QMS_USER or the OS login)."""


def unverified(claimed: str) -> str:
    return f"{UNVERIFIED}{claimed}"


def is_unverified(actor: str) -> bool:
    return actor.startswith(UNVERIFIED)
