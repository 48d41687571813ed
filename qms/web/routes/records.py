"""Read-only records: validation runs, de-identification batches, the audit trail with its chain's status."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response
from sqlmodel import col, select
from starlette.exceptions import HTTPException

from qms import audit
from qms.validation.records import ValidationRun
from qms.web.rendering import page
from qms.web.security import User
from qms.web.state import AppState, app_state

__all__ = ["AUDIT_LIMIT", "router"]

router = APIRouter()
State = Annotated[AppState, Depends(app_state)]
AUDIT_LIMIT = 500
_DEID_ACTIONS = ("deid.batch", "deid.reports")


@router.get("/validation")
def validation_runs(session: User, state: State) -> Response:
    """Runs as `qms validate show` lists them, read from their records (`qms.validation.run` would load torch)."""
    with state.store.reader() as reader:
        runs = list(reader.exec(select(ValidationRun).order_by(col(ValidationRun.created_at))))
    return page(state.templates, "validation.html.j2", session, runs=runs)


@router.get("/validation/{run_id}")
def validation_run(session: User, state: State, run_id: str) -> Response:
    found = state.store.all(ValidationRun, ValidationRun.id == run_id)
    if not found:
        raise HTTPException(404)
    rec = found[0]
    result: dict[str, Any] = json.loads(rec.result)
    return page(state.templates, "validation_run.html.j2", session, run=rec, result=result,
                groups=(result.get("subgroups") or {}).get("groups", []))


@router.get("/deid")
def deid_batches(session: User, state: State) -> Response:
    """Batches as their audit events record them: counts, options and manifest digests, never PHI."""
    events = sorted((e for action in _DEID_ACTIONS for e in audit.log(state.store, action=action)), key=lambda e: -e.seq)
    return page(state.templates, "deid.html.j2", session, events=[(e, json.loads(e.details)) for e in events])


@router.get("/audit")
def audit_log(session: User, state: State, action: str = "", actor: str = "", object: str = "",
              since: str = "", limit: Annotated[int, Query(ge=1, le=AUDIT_LIMIT)] = 200) -> Response:
    events = audit.log(state.store, action=action or None, actor=actor or None, object_prefix=object or None,
                       since=since or None, limit=limit)
    return page(state.templates, "audit.html.j2", session, events=list(reversed(events)), chain=audit.verify(state.store),
                filters={"action": action, "actor": actor, "object": object, "since": since}, limit=limit)
