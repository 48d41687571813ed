"""What the HTTP tests do as a person would: read a form's token, sign in, post a form."""

from __future__ import annotations

import re

import httpx2
from starlette.testclient import TestClient

from tests.release.demo_org import passphrase

__all__ = ["csrf_of", "post_form", "sign_in"]


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "the page has no form with a CSRF token"
    return found.group(1)


def sign_in(client: TestClient, user_id: str, secret: str | None = None) -> httpx2.Response:
    token = csrf_of(client.get("/signin").text)
    return client.post("/signin", data={"user_id": user_id, "passphrase": secret or passphrase(user_id), "csrf": token,
                                        "next": "/"})


def post_form(client: TestClient, page: str, action: str, **fields: str) -> httpx2.Response:
    """Post `fields` to `action` with the CSRF token of the form on `page`, as the browser would."""
    return client.post(action, data={"csrf": csrf_of(client.get(page).text), **fields})
