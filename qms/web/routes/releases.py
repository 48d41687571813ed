"""Releases: documents with page previews, who signed in which role, and the signing ceremony (sign or decline).

The ceremony shows the meaning and the signer's printed name before anything is signed,
asks for the passphrase again (and, at a session's first signing, the user id too:
§11.200(a)(1)), and then calls `qms.release.service.sign` or `qms.release.decline.decline`
exactly as `qms release sign` does. Whether this person may sign is the library's
`check_signer` (the release plan and the approved roster), asked before the form is shown.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form
from fastapi.responses import RedirectResponse, Response
from starlette.exceptions import HTTPException

from qms.errors import QmsError
from qms.release.decline import decline
from qms.release.service import check_signer, release_dir, sign
from qms.release_plan import load_plan
from qms.release_steps import steps
from qms.signing.errors import WrongPassphrase
from qms.signing.identity import identity
from qms.signing.lockout import IdentityLocked
from qms.signing.meaning import SignatureMeaning
from qms.signing.signatory import Signatory
from qms.web.rendering import page
from qms.web.releases_view import DOCUMENT_NAME, declines, page_count, page_png, release_summaries, signatures
from qms.web.security import User, check_csrf
from qms.web.sessions import WebSession
from qms.web.state import AppState, app_state

__all__ = ["router"]

router = APIRouter()
State = Annotated[AppState, Depends(app_state)]
_MEANINGS = {m.value: m for m in (SignatureMeaning.REVIEWED, SignatureMeaning.APPROVED)}


def _meaning(text: str) -> SignatureMeaning:
    if text not in _MEANINGS:
        raise HTTPException(400, "a release is signed as reviewed or approved")
    return _MEANINGS[text]


def _known(state: AppState, version: str) -> None:
    if not steps(state.store, version):
        raise HTTPException(404)


@router.get("/releases")
def releases(session: User, state: State) -> Response:
    try:
        plan = load_plan(state.project)
    except QmsError:
        plan = None
    return page(state.templates, "releases.html.j2", session, releases=release_summaries(state.store), plan=plan)


@router.get("/releases/{version}")
def release(session: User, state: State, version: str) -> Response:
    _known(state, version)
    folder = release_dir(state.project, version) / "documents"
    documents = [(p.stem, page_count(p)) for p in sorted(folder.glob("*.pdf"))]
    return page(state.templates, "release.html.j2", session, version=version, steps=steps(state.store, version),
                documents=documents, signatures=signatures(state.store, version), declines=declines(state.store, version),
                meanings=list(_MEANINGS))


@router.get("/releases/{version}/documents/{name}/pages/{number}.png")
def document_page(session: User, state: State, version: str, name: str, number: int) -> Response:
    if not DOCUMENT_NAME.match(name) or not 1 <= number <= 500:
        raise HTTPException(404)
    _known(state, version)
    pdf = release_dir(state.project, version) / "documents" / f"{name}.pdf"
    if not pdf.is_file():
        raise HTTPException(404)
    # never cached by the browser: the same URL shows a new signature's stamp as soon as it is applied
    return Response(page_png(pdf, number, state.previews), media_type="image/png")


def _may_sign(state: AppState, session: WebSession, version: str, meaning: SignatureMeaning) -> None:
    """The plan and the approved roster decide; a refusal is a 403 with the library's reason."""
    project = state.project
    plan = load_plan(project)
    documents = [p.stem for p in sorted((release_dir(project, version) / "documents").glob("*.pdf"))]
    try:
        check_signer(project, state.store, state.settings.identity_dir, plan, meaning, session.user_id, documents)
    except QmsError as exc:
        raise HTTPException(403, f"{exc.message} ({exc.hint})" if exc.hint else exc.message) from None


def _ceremony(state: AppState, session: WebSession, version: str, meaning: SignatureMeaning, status: int = 200,
              error: str | None = None) -> Response:
    person = identity(state.store, state.settings.identity_dir, session.user_id)
    return page(state.templates, "ceremony.html.j2", session, status, version=version, meaning=meaning.value,
                printed_name=person.name, ask_user_id=not session.has_signed, error=error,
                documents=[p.stem for p in sorted((release_dir(state.project, version) / "documents").glob("*.pdf"))])


@router.get("/releases/{version}/sign")
def ceremony(session: User, state: State, version: str, meaning: str) -> Response:
    _known(state, version)
    parsed = _meaning(meaning)
    _may_sign(state, session, version, parsed)
    return _ceremony(state, session, version, parsed)


def _signatory(session: WebSession, user_id: str, passphrase: str) -> Signatory:
    """The session's person, proven again: the id (first signing in the session) and the passphrase."""
    if not session.has_signed and user_id.strip() != session.user_id:
        raise HTTPException(403, "the user id typed is not the signed-in user's")
    return Signatory(session.user_id, passphrase, session.user_id)


@router.post("/releases/{version}/sign")
def sign_release(session: User, state: State, version: str, meaning: Annotated[str, Form()],
                 passphrase: Annotated[str, Form(max_length=1024)], csrf: Annotated[str, Form()],
                 user_id: Annotated[str, Form(max_length=64)] = "") -> Response:
    check_csrf(session.csrf, csrf)
    _known(state, version)
    parsed = _meaning(meaning)
    _may_sign(state, session, version, parsed)
    signer = _signatory(session, user_id, passphrase)
    try:
        with state.recording:
            sign(state.project, state.store, state.settings.identity_dir, version, parsed, signer)
    except (WrongPassphrase, IdentityLocked) as exc:
        return _ceremony(state, session, version, parsed, 401, f"{exc.message} (the attempt is recorded)")
    state.sessions.signed(session, state.settings.clock())
    return RedirectResponse(f"/releases/{version}", status_code=303)


@router.post("/releases/{version}/decline")
def decline_release(session: User, state: State, version: str, meaning: Annotated[str, Form()],
                    passphrase: Annotated[str, Form(max_length=1024)], reason: Annotated[str, Form(max_length=500)],
                    csrf: Annotated[str, Form()], user_id: Annotated[str, Form(max_length=64)] = "") -> Response:
    check_csrf(session.csrf, csrf)
    _known(state, version)
    parsed = _meaning(meaning)
    _may_sign(state, session, version, parsed)
    signer = _signatory(session, user_id, passphrase)
    try:
        decline(state.project, state.store, state.settings.identity_dir, version, parsed, signer, reason)
    except (WrongPassphrase, IdentityLocked) as exc:
        return _ceremony(state, session, version, parsed, 401, f"{exc.message} (the attempt is recorded)")
    state.sessions.signed(session, state.settings.clock())
    return RedirectResponse(f"/releases/{version}", status_code=303)
