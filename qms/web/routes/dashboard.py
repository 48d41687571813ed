"""`/`: the gate's verdict of HEAD against the release plan and of each release, every finding with its hint."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import Response

from qms.errors import QmsError
from qms.gate import Verdict, verify
from qms.web.rendering import page
from qms.web.releases_view import release_summaries
from qms.web.security import User
from qms.web.state import AppState, app_state
from qms.web.verdicts import release_verdicts

__all__ = ["router"]

router = APIRouter()
State = Annotated[AppState, Depends(app_state)]


@router.get("/")
def dashboard(session: User, state: State) -> Response:
    verdict: Verdict | None = None
    problem: QmsError | None = None
    try:
        verdict = verify(state.project, state.store, state.settings.identity_dir)
    except QmsError as exc:  # a missing plan or configuration is shown, not raised: the rest of the page still helps
        problem = exc
    releases = release_verdicts(state.project, state.store, state.settings.identity_dir, release_summaries(state.store),
                                state.bundles)
    return page(state.templates, "dashboard.html.j2", session, verdict=verdict, problem=problem, releases=releases)
