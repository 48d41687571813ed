"""Who signs: a user id with the passphrase typed for this signing, and who runs the command.

A release step or a PDF signature is signed by one user (§11.200(a): id and passphrase
at each signing) while the command may be run by another: the audit event's actor is the
signer (authenticated), the runner only a detail (unverified).
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
        """Who the audit trail names as acting: the signer, whose passphrase authenticates them.

        `actor` (the unverified OS or QMS_USER name of who ran the command) is never an
        event's actor; `invoked_by` keeps it as a detail.
        """
        return self.user_id

    @property
    def invoked_by(self) -> str | None:
        """The unverified name of who ran the command, when it differs from the signer."""
        return self.actor if self.actor and self.actor != self.user_id else None
