"""Who signs: a user id with the passphrase typed for this signing, and who runs the command.

A release step or a PDF signature is signed by one user (§11.200(a): id and passphrase
at each signing) while the command may be run by another (the audit event names both).
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["Signatory"]


@dataclass(frozen=True)
class Signatory:
    """The signer's id and passphrase; `actor` is who runs the command (the signer when not given)."""

    user_id: str
    passphrase: str = field(repr=False)
    actor: str | None = None
    non_interactive: bool = False

    @property
    def run_by(self) -> str:
        """Who the audit trail names as running the command."""
        return self.actor or self.user_id
