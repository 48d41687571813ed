"""Read-only records: validation runs with their figures, de-identification batches, the audit trail with its chain's status."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response
from sqlmodel import col, select
from starlette.exceptions import HTTPException

from qms import audit
from qms.errors import QmsError
from qms.hashing import sha256_file
from qms.validation.records import ValidationRun
from qms.web.rendering import page
from qms.web.security import User
from qms.web.state import AppState, app_state

__all__ = ["AUDIT_LIMIT", "router"]

router = APIRouter()
State = Annotated[AppState, Depends(app_state)]
AUDIT_LIMIT = 500
_DEID_ACTIONS = ("deid.batch", "deid.reports")
_VERIFY_ACTION = "deid.verify"  # qms.deid.verify_record.VERIFY_ACTION (the web layer reads events, not deid)
FIGURE = re.compile(r"^[a-z0-9][a-z0-9-]{0,60}\.png$")


@router.get("/validation")
def validation_runs(session: User, state: State) -> Response:
    """Runs as `qms validate show` lists them, read from their records (`qms.validation.run` would load torch)."""
    with state.store.reader() as reader:
        runs = list(reader.exec(select(ValidationRun).order_by(col(ValidationRun.created_at))))
    return page(state.templates, "validation.html.j2", session, runs=runs)


def _run_or_404(state: AppState, run_id: str) -> ValidationRun:
    found = state.store.all(ValidationRun, ValidationRun.id == run_id)
    if not found:
        raise HTTPException(404)
    return found[0]


def _figures(result: dict[str, Any]) -> list[str]:
    """The run's figures (ROC with its band, calibration, a forest plot per subgroup metric), as the run recorded them."""
    order = {"roc.png": 0, "calibration.png": 1}  # then the forest plots, by metric
    return sorted((n for n in (result.get("artefacts") or {}) if FIGURE.match(n)), key=lambda n: (order.get(n, 2), n))


@router.get("/validation/{run_id}")
def validation_run(session: User, state: State, run_id: str) -> Response:
    rec = _run_or_404(state, run_id)
    result: dict[str, Any] = json.loads(rec.result)
    subgroups = result.get("subgroups") or {}
    return page(state.templates, "validation_run.html.j2", session, run=rec, result=result,
                groups=subgroups.get("groups", []), metrics=sorted(subgroups.get("overall") or {}),
                overall=subgroups.get("overall") or {}, figures=_figures(result))


@router.get("/validation/{run_id}/figures/{figure}")
def validation_figure(session: User, state: State, run_id: str, figure: str) -> Response:
    """A figure `qms.validation.plots` drew for the run, served only while its bytes are those the run recorded."""
    rec = _run_or_404(state, run_id)
    result: dict[str, Any] = json.loads(rec.result)
    if figure not in _figures(result):
        raise HTTPException(404)
    folder = Path(rec.out_dir)
    path = (folder if folder.is_absolute() else state.settings.project_root / folder) / figure
    if not path.is_file() or sha256_file(path) != result["artefacts"][figure]:
        raise QmsError(f"the figure {figure} of run {rec.id[:12]} is missing or differs from the one the run recorded",
                       where=str(path), hint="the run's folder was moved or changed: restore it from the run's archive")
    return Response(path.read_bytes(), media_type="image/png")


@router.get("/deid")
def deid_batches(session: User, state: State) -> Response:
    """Batches and verification runs as their audit events record them: counts, options and digests, never PHI."""
    events = sorted((e for action in _DEID_ACTIONS for e in audit.log(state.store, action=action)), key=lambda e: -e.seq)
    checks = list(reversed(audit.log(state.store, action=_VERIFY_ACTION)))
    return page(state.templates, "deid.html.j2", session, events=[(e, json.loads(e.details)) for e in events],
                verifications=[(e, json.loads(e.details)) for e in checks])


@router.get("/audit")
def audit_log(session: User, state: State, action: str = "", actor: str = "", object: str = "",
              since: str = "", limit: Annotated[int, Query(ge=1, le=AUDIT_LIMIT)] = 200) -> Response:
    events = audit.log(state.store, action=action or None, actor=actor or None, object_prefix=object or None,
                       since=since or None, limit=limit)
    return page(state.templates, "audit.html.j2", session, events=list(reversed(events)), chain=audit.verify(state.store),
                filters={"action": action, "actor": actor, "object": object, "since": since}, limit=limit)
