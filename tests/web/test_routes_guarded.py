"""Every route of the application, enumerated: refused without a session, and every form refused without its token."""

from __future__ import annotations

import re

import pytest
from fastapi.routing import APIRoute, iter_route_contexts
from starlette.routing import Mount
from starlette.testclient import TestClient

from qms.web.app import STATIC
from qms.web.security import OPEN_PATHS
from tests.web.browse import sign_in

pytestmark = pytest.mark.verifies("QMS-REQ-162")

SAMPLE = {"item_id": "REQ-001", "parent_id": "NEED-002", "version": "1.0.0", "name": "anomaly-list", "number": "1",
          "run_id": "abcdef123456", "figure": "roc.png"}


def _routes(client: TestClient) -> list[tuple[str, str]]:
    """(method, concrete path) of every page route; a path parameter nobody named here fails the test."""
    found = []
    for context in iter_route_contexts(client.app.routes):  # type: ignore[attr-defined]
        route = context.original_route
        if isinstance(route, Mount):
            assert route.path == STATIC, f"an unexpected mount {route.path}"
            continue
        assert isinstance(route, APIRoute), f"an unexpected route {route!r}"
        params = re.findall(r"{(\w+)}", route.path)
        missing = [p for p in params if p not in SAMPLE]
        assert not missing, f"{route.path}: add a sample value for {missing} to this test"
        path = route.path
        for p in params:
            path = path.replace("{" + p + "}", SAMPLE[p])
        found += [(method, path) for method in sorted(route.methods or ())]
    return found


def test_anonymous_requests_are_refused_on_every_route_but_sign_in(client: TestClient) -> None:
    """Without a session every route sends a page request to sign-in (303) and refuses a form (401); only /signin is open."""
    routes = _routes(client)
    assert len(routes) >= 15
    for method, path in routes:
        response = client.request(method, path, data={"csrf": "x"} if method == "POST" else None)
        if path in OPEN_PATHS:
            assert response.status_code in (200, 403, 422), (method, path, response.status_code)
            continue
        if method == "GET":
            assert response.status_code == 303 and response.headers["location"].startswith("/signin"), (method, path)
        else:
            assert response.status_code == 401, (method, path, response.status_code)


def test_static_files_are_served_without_a_session(client: TestClient) -> None:
    """The vendored htmx and the stylesheet load before sign-in (the sign-in page needs them); nothing from a CDN."""
    for name in ("htmx.min.js", "qms.css"):
        assert client.get(f"{STATIC}/{name}").status_code == 200
    assert "https://" not in client.get("/signin").text


@pytest.mark.parametrize("token", ["", "forged-token"])
def test_every_form_refuses_a_missing_or_wrong_csrf_token(client: TestClient, token: str) -> None:
    """Signed in, each POST route answers 403 to a request without its session's CSRF token, and changes nothing."""
    assert sign_in(client, "demo.reviewer").status_code == 303
    before = client.get("/audit?limit=1").text
    posts = [path for method, path in _routes(client) if method == "POST"]
    assert {"/signin", "/signout", "/items/REQ-001/review", "/releases/1.0.0/sign", "/releases/1.0.0/decline"} <= set(posts)
    for path in posts:
        data = {"csrf": token, "meaning": "reviewed", "passphrase": "x", "reason": "a reason", "user_id": "demo.reviewer"}
        if not token:
            del data["csrf"]
        response = client.post(path, data=data)
        assert response.status_code == 403, (path, response.status_code)
        assert "security token" in response.text
    assert client.get("/audit?limit=1").text.count("<tr>") == before.count("<tr>")
    assert "session.open" in client.get("/audit?limit=1").text
