"""Pages from the project's templates (`templates/web/`), always autoescaped: user text is data."""

from __future__ import annotations

from typing import Any

import jinja2
from fastapi.responses import HTMLResponse

from qms.web.sessions import WebSession

__all__ = ["environment", "page"]


def environment() -> jinja2.Environment:
    return jinja2.Environment(loader=jinja2.PackageLoader("qms.templates", "web"), autoescape=True,
                              undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)


def page(env: jinja2.Environment, template: str, session: WebSession | None, status: int = 200,
         **context: Any) -> HTMLResponse:
    """A whole page; `session` gives the header its user and every form its CSRF token."""
    html = env.get_template(template).render(user=session.user_id if session else None,
                                             csrf=session.csrf if session else "", **context)
    return HTMLResponse(html, status_code=status)
