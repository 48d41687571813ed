"""API client identities: a random token shown once, stored only as its sha256, scoped to model names.

Creating or revoking a client is an audit event in the same transaction as its record; the
token itself never reaches the store, the audit trail or a log.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from dataclasses import dataclass

from sqlmodel import Session, col, select

from qms import audit
from qms.api.records import ApiClient
from qms.errors import QmsError
from qms.hashing import canonical_json
from qms.store import Store

__all__ = ["Client", "authenticate", "create_client", "revoke_client", "token_sha256"]

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
TOKEN_PREFIX = "qms_"


def token_sha256(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Client:
    """An authenticated caller: its name and the model names it may call."""

    name: str
    models: frozenset[str]

    def may_call(self, model_name: str) -> bool:
        return model_name in self.models


def _head(session: Session, name: str) -> ApiClient | None:
    """The client's current record: the one no other record of that name supersedes."""
    rows = session.exec(select(ApiClient).where(ApiClient.name == name).order_by(col(ApiClient.created_at))).all()
    superseded = {r.supersedes for r in rows}
    heads = [r for r in rows if r.id not in superseded]
    return heads[-1] if heads else None


def create_client(store: Store, name: str, models: list[str], *, actor: str) -> str:
    """A new client (or a new token for an existing one, superseding it); returns the token, shown once."""
    if not _NAME.match(name):
        raise QmsError(f"client name {name!r} is not allowed", where="--client",
                       hint="letters, digits, '.', '_' and '-', at most 100 characters")
    if not models or any(not m.strip() for m in models):
        raise QmsError("a client needs at least one model name it may call", where="--model")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    scope = sorted(set(models))
    with store.transaction() as session:
        previous = _head(session, name)
        row = ApiClient(name=name, token_sha256=token_sha256(token), models=canonical_json(scope).decode(),
                        actor=actor, supersedes=previous.id if previous else None)
        session.add(row)
        audit.append(session, audit.EventSpec(
            actor, "api.token.create", f"api-client:{name}",
            before=audit.state_digest({"token_sha256": previous.token_sha256, "active": previous.active}) if previous else None,
            after=audit.state_digest({"token_sha256": row.token_sha256, "active": True}),
            details={"models": scope, "replaces": previous.id if previous else None}))
    return token


def revoke_client(store: Store, name: str, *, actor: str) -> None:
    """Withdraw a client's token: a superseding record with `active=False`, and its audit event."""
    with store.transaction() as session:
        previous = _head(session, name)
        if previous is None or not previous.active:
            raise QmsError(f"no active API client {name!r}", where=f"api-client:{name}")
        session.add(ApiClient(name=name, token_sha256=previous.token_sha256, models=previous.models, active=False,
                              actor=actor, supersedes=previous.id))
        audit.append(session, audit.EventSpec(
            actor, "api.token.revoke", f"api-client:{name}",
            before=audit.state_digest({"token_sha256": previous.token_sha256, "active": True}),
            after=audit.state_digest({"token_sha256": previous.token_sha256, "active": False}),
            details={"models": json.loads(previous.models), "replaces": previous.id}))


def authenticate(store: Store, token: str) -> Client | None:
    """The client whose current, active record holds this token's hash; None for any other token."""
    if not token.startswith(TOKEN_PREFIX):
        return None
    digest = token_sha256(token)
    with store.reader() as session:
        for row in session.exec(select(ApiClient).where(ApiClient.token_sha256 == digest)).all():
            head = _head(session, row.name)
            if head is not None and head.id == row.id and head.active:
                return Client(row.name, frozenset(json.loads(row.models)))
    return None
