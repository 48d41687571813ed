"""Release steps, training runs, tool validations, API clients and browser sessions, as their audit events record them.

Each kind's event holds what its row holds (the longer texts by their sha256), so a row
edited or inserted by SQL is caught as `qms.gate.grants` catches a grant row. Events recorded
before a kind's event held all of its row are legacy: they are matched on the fields they do
hold (release steps: signer, commit, model, previous step, documents, bundle; training runs:
everything but dirtiness, parent digest, full metrics and environment; tool validations:
everything but the report's signature and the environment; a revoked API client: its actor
and token state; a browser session: its user).

The API client and browser session tables are read by name (`sqlalchemy.table`): the gate
imports neither the inference service nor the web application.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Boolean, DateTime, Text, column, table
from sqlalchemy import select as select_core
from sqlmodel import Session, select

from qms.audit import state_digest
from qms.hashing import digest_of, sha256_hex
from qms.models.records import TrainingRun
from qms.release_steps import ReleaseStep, Step
from qms.store.records import AuditEvent
from qms.tool_validation import ToolValidation

__all__ = ["ACTIONS", "ROWS", "RowGrant", "from_event", "session_state"]

_STEPS = {f"release.{s.value}": s.value for s in Step}
ACTIONS = (*_STEPS, "model.train", "tool.validate", "api.token.create", "api.token.revoke", "session.open")

RowGrant = tuple[str, str, str, str, str]
"""What a row grants: table, key, content, where (its row id), partial (its content in a legacy event's terms)."""

_API_CLIENT = table("api_client", column("id", Text), column("name", Text), column("token_sha256", Text),
                    column("models", Text), column("active", Boolean), column("actor", Text), column("supersedes", Text))
_WEB_SESSION = table("web_session", column("id", Text), column("token_sha256", Text), column("user_id", Text),
                     column("opened_at", DateTime))


def session_state(token_sha256: str, opened_at: datetime) -> str | None:
    """A browser session's state as its `session.open` event records it (`after`): token hash and opening time, in UTC."""
    when = opened_at.replace(tzinfo=UTC) if opened_at.tzinfo is None else opened_at.astimezone(UTC)
    return state_digest({"token_sha256": token_sha256, "opened_at": when.isoformat()})


def _content(base: list[Any], more: list[Any]) -> str:
    return digest_of([*base, *more])


def from_event(e: AuditEvent, d: dict[str, Any]) -> Iterator[tuple[str, str, str, bool]]:
    """(table, key, content, legacy) of the row one event says it wrote."""
    if e.action in _STEPS:
        base = [d.get("signer"), d.get("commit"), d.get("model"), e.before_digest, e.after_digest, d.get("bundle_sha256")]
        key = f"{e.object} {_STEPS[e.action]}"
        if "plan_digest" in d:
            yield "release_step", key, _content(base, [d["plan_digest"], d.get("verdict_digest"), d.get("soup_sha256")]), False
        else:
            yield "release_step", key, _content(base, []), True
    elif e.action == "model.train":
        base = [e.actor, e.after_digest, d.get("manifest_sha256"), d.get("config_digest"), d.get("config_digest"),
                d.get("seed"), d.get("git_commit"), d.get("parent"), d.get("tuning_auroc")]
        if "metrics_sha256" in d:
            yield "model_training_run", e.object, _content(base, [d.get("git_dirty"), d.get("parent_digest"),
                                                                  d["metrics_sha256"], d.get("environment_sha256")]), False
        else:
            yield "model_training_run", e.object, _content(base, []), True
    elif e.action == "tool.validate":
        base = [e.actor, e.object.removeprefix("qmskit@"), d.get("fingerprint"), d.get("passed"), d.get("report_sha256"),
                e.after_digest]
        key = f"tool-validation:{d.get('record')}"
        if "signature" in d:
            yield "tool_validation", key, _content(base, [d["signature"], d.get("environment_sha256")]), False
        else:
            yield "tool_validation", key, _content(base, []), True
    elif e.action in ("api.token.create", "api.token.revoke"):
        if "replaces" in d:
            yield "api_client", e.object, _content([e.actor, e.after_digest], [d.get("models"), d["replaces"]]), False
        else:  # a revocation recorded before its event named the record it supersedes
            yield "api_client", e.object, _content([e.actor, e.after_digest], []), True
    elif e.action == "session.open":
        if "session" in d:
            yield "web_session", e.object, _content([e.actor], [d["session"], e.after_digest]), False
        else:
            yield "web_session", e.object, _content([e.actor], []), True


def _release_step(r: ReleaseStep) -> RowGrant:
    base = [r.actor, r.commit, r.model, r.supersedes, sha256_hex(r.documents.encode()), r.bundle_sha256]
    return ("release_step", f"release:{r.version} {r.step}",
            _content(base, [r.plan_digest, r.verdict_digest, sha256_hex(r.soup.encode())]), f"row {r.id}", _content(base, []))


def _training_run(r: TrainingRun) -> RowGrant:
    base = [r.actor, r.output_digest, r.manifest_sha256, r.config_digest, sha256_hex(r.config.encode()), r.seed,
            r.git_commit, r.parent, json.loads(r.metrics).get("tuning_auroc")]
    more = [r.git_dirty, r.parent_digest, sha256_hex(r.metrics.encode()), sha256_hex(r.environment.encode())]
    return "model_training_run", f"training-run:{r.id}", _content(base, more), f"row {r.id}", _content(base, [])


def _tool_validation(r: ToolValidation) -> RowGrant:
    base = [r.actor, r.qmskit_version, r.fingerprint, r.passed, r.report_sha256, state_digest(r.checks)]
    more = [r.signature_id, sha256_hex(r.environment.encode())]
    return "tool_validation", f"tool-validation:{r.id}", _content(base, more), f"row {r.id}", _content(base, [])


def _api_clients(session: Session) -> Iterator[RowGrant]:
    for r in session.execute(select_core(_API_CLIENT)).all():
        base = [r.actor, state_digest({"token_sha256": r.token_sha256, "active": bool(r.active)})]
        yield ("api_client", f"api-client:{r.name}", _content(base, [json.loads(r.models), r.supersedes]), f"row {r.id}",
               _content(base, []))


def _web_sessions(session: Session) -> Iterator[RowGrant]:
    for r in session.execute(select_core(_WEB_SESSION)).all():
        base = [r.user_id]
        yield ("web_session", f"user:{r.user_id}", _content(base, [r.id, session_state(r.token_sha256, r.opened_at)]),
               f"row {r.id}", _content(base, []))


def _each(query: Any, grant: Callable[[Any], RowGrant]) -> Callable[[Session], Iterator[RowGrant]]:
    return lambda session: (grant(row) for row in session.exec(query).all())


ROWS: tuple[Callable[[Session], Iterator[RowGrant]], ...] = (
    _each(select(ReleaseStep), _release_step),
    _each(select(TrainingRun), _training_run),
    _each(select(ToolValidation), _tool_validation),
    _api_clients,
    _web_sessions,
)
