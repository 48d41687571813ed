"""Who an audit event names as acting: an identity unlocked with its passphrase, never a typed name (21 CFR 11.10(d), (e)).

Once a project has an enrolled identity, a command that records an event refuses to run
without an unlocked session (`qms session unlock USER`): the trail names the identity whose
key the passphrase unlocked. Before the first enrolment (a new project, the tutorial) nobody
can be authenticated, so the event names the claimed login marked `unverified:`, and the
gate reports it. `[tool.qms] require_authenticated_actor` decides otherwise: true refuses
even before enrolment, false records unverified names (which the gate still refuses once an
identity is enrolled).
"""

from __future__ import annotations

from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import select

from qms.actors import unverified
from qms.errors import QmsError
from qms.signing.records import SigningUser
from qms.signing.session import Session
from qms.store import Store

__all__ = ["UnattributedAction", "attributed", "enrolled", "session_required"]


class UnattributedAction(QmsError):
    """A command would record an event with no authenticated actor in a project that requires one."""


def enrolled(store: Store) -> bool:
    """Whether the store has any signing identity (a store not yet migrated has none)."""
    try:
        with store.reader() as session:
            return session.exec(select(SigningUser.id).limit(1)).first() is not None
    except SQLAlchemyError:
        return False


def session_required(store: Store, setting: bool | None) -> bool:
    """The project's `require_authenticated_actor`, or, when it is not set, whether any identity is enrolled."""
    return enrolled(store) if setting is None else setting


def attributed(store: Store, session: Session | None, claimed: str, setting: bool | None) -> str:
    """The actor of an event: the session's identity; `unverified:` `claimed` where no session is required; else refused."""
    if session is not None:
        return session.user_id
    if session_required(store, setting):
        raise UnattributedAction(
            "this project records who acts as an authenticated identity, and no identity is unlocked "
            "(or its session expired)",
            hint="run `qms session unlock USER` (the passphrase once per session; a CI service identity reads "
                 "QMS_SIGNING_PASSPHRASE_FILE), then this command again")
    return unverified(claimed)
