"""Who is asking: the session dependency, CSRF tokens, the session cookie and the response headers.

Every page but sign-in and the static files depends on `signed_in`; every form carries the
session's CSRF token (the sign-in form a pre-session token, double-submitted in a cookie),
checked in constant time. The headers forbid framing, inline script and sniffing.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request, Response
from starlette.exceptions import HTTPException

from qms import audit
from qms.web.sessions import COOKIE, WebSession
from qms.web.state import AppState, app_state

__all__ = ["CSP", "NotSignedIn", "OPEN_PATHS", "PRE_COOKIE", "User", "check_csrf", "security_headers", "set_cookie", "signed_in"]

PRE_COOKIE = "qms_presession"
OPEN_PATHS = frozenset({"/signin"})  # with the static files: the only paths served without a session
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
       "form-action 'self'; base-uri 'none'; frame-ancestors 'none'")


class NotSignedIn(Exception):
    """No live session: pages send the browser to sign in, other requests get 401."""

    def __init__(self, expired: bool = False) -> None:
        super().__init__("not signed in")
        self.expired = expired


def signed_in(request: Request, state: Annotated[AppState, Depends(app_state)]) -> WebSession:
    """The live session of this request; an idle one ends here, with its audit event."""
    token = request.cookies.get(COOKIE)
    if not token:
        raise NotSignedIn()
    session, expired = state.sessions.touch(token, state.settings.clock())
    if expired is not None:
        audit.record(state.store, audit.EventSpec(expired.user_id, "session.timeout", f"user:{expired.user_id}", details={
            "idle_minutes": int(state.settings.idle_timeout.total_seconds() // 60)}))
        raise NotSignedIn(expired=True)
    if session is None:
        raise NotSignedIn()
    return session


User = Annotated[WebSession, Depends(signed_in)]


def check_csrf(expected: str, presented: str) -> None:
    if not expected or not hmac.compare_digest(expected.encode(), presented.encode()):
        raise HTTPException(403, "the form's security token is missing or stale: reload the page and try again")


def set_cookie(response: Response, name: str, value: str, *, secure: bool) -> None:
    response.set_cookie(name, value, httponly=True, samesite="strict", secure=secure, path="/")


async def security_headers(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
    response = await call_next(request)
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers.setdefault("Cache-Control", "no-store")
    return response
