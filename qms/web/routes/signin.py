"""`/signin` and `/signout`: the only pages open to someone not signed in (besides static files)."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from qms.web.rendering import page
from qms.web.security import PRE_COOKIE, User, check_csrf, set_cookie
from qms.web.sessions import COOKIE
from qms.web.signin import SignInRefused, sign_in, sign_out
from qms.web.state import AppState, app_state

__all__ = ["router"]

router = APIRouter()
State = Annotated[AppState, Depends(app_state)]


def _safe_next(target: str) -> str:
    """Only a path on this server (never `//host` or a scheme): no open redirect."""
    return target if target.startswith("/") and not target.startswith("//") and "\\" not in target else "/"


def _form(state: AppState, next_path: str, status: int = 200, error: str | None = None, expired: bool = False,
          user_id: str = "") -> Response:
    token = secrets.token_urlsafe(32)
    response = page(state.templates, "signin.html.j2", None, status, pre_csrf=token, next_path=_safe_next(next_path),
                    error=error, expired=expired, user_id=user_id)
    set_cookie(response, PRE_COOKIE, token, secure=state.settings.secure_cookies)
    return response


@router.get("/signin")
def signin_page(state: State, next: str = "/", expired: str | None = None) -> Response:
    return _form(state, next, expired=expired is not None)


@router.post("/signin")
def signin_submit(request: Request, state: State, user_id: Annotated[str, Form(max_length=64)],
                  passphrase: Annotated[str, Form(max_length=1024)], csrf: Annotated[str, Form()],
                  next: Annotated[str, Form()] = "/") -> Response:
    check_csrf(request.cookies.get(PRE_COOKIE, ""), csrf)
    try:
        session = sign_in(state, user_id.strip(), passphrase, state.settings.clock())
    except SignInRefused as exc:
        return _form(state, next, 401, str(exc), user_id=user_id)
    previous = request.cookies.get(COOKIE)
    if previous:  # a sign-in replaces the browser's earlier session: it does not linger on the server
        sign_out(state, previous)
    response = RedirectResponse(_safe_next(next), status_code=303)
    set_cookie(response, COOKIE, session.token, secure=state.settings.secure_cookies)
    response.delete_cookie(PRE_COOKIE, path="/", secure=state.settings.secure_cookies, httponly=True, samesite="strict")
    return response


@router.post("/signout")
def signout(session: User, state: State, csrf: Annotated[str, Form()]) -> Response:
    check_csrf(session.csrf, csrf)
    sign_out(state, session.token)
    response = RedirectResponse("/signin", status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response
