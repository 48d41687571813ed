"""Clear pages for refused, missing and failed requests; never a traceback, never a PHI value.

A library error (`QmsError`) says what, where and what to do: it is shown as the CLI
shows it (400, or 409 when a check ran and refused). Anything else is an internal error:
the page shows a reference to the server log, which holds the traceback.
"""

from __future__ import annotations

import logging
import secrets
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from starlette.exceptions import HTTPException

from qms.errors import CheckFailed, QmsError
from qms.web.rendering import page
from qms.web.security import OPEN_PATHS, NotSignedIn, signed_in
from qms.web.sessions import COOKIE
from qms.web.state import app_state

__all__ = ["install"]

log = logging.getLogger("qms.web")
_TITLES = {400: "Request refused", 401: "Sign in first", 403: "Not allowed", 404: "Not found", 405: "Not allowed",
           409: "Refused by a check", 422: "Incomplete form", 500: "Internal error"}


def _error(request: Request, status: int, message: str, where: str | None = None, hint: str | None = None) -> Response:
    state = app_state(request)
    token = request.cookies.get(COOKIE)
    session = state.sessions.peek(token, state.settings.clock()) if token and status != 401 else None
    return page(state.templates, "error.html.j2", session, status, title=_TITLES.get(status, "Error"), code=status, message=message,
                where=where, hint=hint)


def install(app: FastAPI) -> None:
    @app.exception_handler(NotSignedIn)
    async def not_signed_in(request: Request, exc: NotSignedIn) -> Response:
        if request.method == "GET" and not request.headers.get("HX-Request"):
            target = quote(request.url.path, safe="/")
            return RedirectResponse(f"/signin?next={target}{'&expired=1' if exc.expired else ''}", status_code=303)
        return _error(request, 401, "your session has ended: sign in again" if exc.expired else "sign in first")

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> Response:
        return _error(request, exc.status_code, str(exc.detail) if exc.status_code != 404 else "no such page or record")

    @app.exception_handler(RequestValidationError)
    async def bad_form(request: Request, exc: RequestValidationError) -> Response:
        try:  # the form is read before the session is looked at: someone not signed in is told that first
            if request.url.path not in OPEN_PATHS:
                signed_in(request, app_state(request))
        except NotSignedIn as refused:
            return await not_signed_in(request, refused)
        fields = sorted({str(e["loc"][-1]) for e in exc.errors() if e.get("loc")})
        if "csrf" in fields:
            return _error(request, 403, "the form's security token is missing: reload the page and try again")
        return _error(request, 422, f"the form is missing or has a wrong value in: {', '.join(fields) or 'a field'}")

    @app.exception_handler(QmsError)
    async def library_error(request: Request, exc: QmsError) -> Response:
        return _error(request, 409 if isinstance(exc, CheckFailed) else 400, exc.message, exc.where, exc.hint)

    @app.exception_handler(Exception)
    async def internal(request: Request, exc: Exception) -> Response:
        ref = secrets.token_hex(6)
        log.exception("internal error %s on %s %s", ref, request.method, request.url.path)
        return _error(request, 500, f"something went wrong on the server (reference {ref}); nothing was changed by this "
                                    "page unless its audit event says so", hint="tell your administrator the reference")
