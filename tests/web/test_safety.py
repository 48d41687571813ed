"""Safe by default: headers, cookies behind TLS, clear error pages without tracebacks, loopback binding."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import APIRouter
from starlette.testclient import TestClient
from typer.testing import CliRunner

from qms.cli.main import make_app
from qms.web import create_app
from qms.web.security import CSP
from tests.web.browse import sign_in
from tests.web.site import Site

pytestmark = pytest.mark.verifies("QMS-REQ-162")


def test_every_response_carries_the_security_headers(client: TestClient) -> None:
    """Pages and refusals alike forbid inline script, framing and sniffing (CSP without 'unsafe-inline')."""
    for response in (client.get("/signin"), client.get("/"), client.get("/static/qms.css")):
        assert response.headers["content-security-policy"] == CSP
        assert response.headers["x-frame-options"] == "DENY" and response.headers["x-content-type-options"] == "nosniff"
    assert "unsafe-inline" not in CSP and "script-src 'self'" in CSP
    assert "<script>" not in client.get("/signin").text.replace('<script src="/static/htmx.min.js" defer></script>', "")


def test_cookies_are_secure_behind_tls(site: Site) -> None:
    """With secure cookies (TLS, or a TLS proxy) the session cookie is also marked Secure."""
    from dataclasses import replace

    app = create_app(replace(site.settings(), secure_cookies=True))
    with TestClient(app, base_url="https://127.0.0.1", follow_redirects=False) as client:
        response = sign_in(client, "demo.reviewer")
        assert response.status_code == 303
        assert all("Secure" in c for c in response.headers.get_list("set-cookie") if c.startswith("qms_session="))
    app.state.qms.store.dispose()


def test_missing_pages_and_records_are_clear_404s(client: TestClient) -> None:
    """An unknown page, design item or release is a 404 page in words, never a stack trace."""
    sign_in(client, "demo.reviewer")
    for path in ("/nowhere", "/items/REQ-999", "/releases/9.9.9", "/validation/abcdef123456"):
        response = client.get(path)
        assert response.status_code == 404 and "Not found" in response.text and "Traceback" not in response.text
        assert 'id="signed-in-as"' in response.text  # still signed in: the header and its sign-out stay


@pytest.fixture
def failing_client(site: Site) -> Iterator[TestClient]:
    app = create_app(site.settings())
    router = APIRouter()

    @router.get("/explode")
    def explode() -> None:
        raise RuntimeError("secret internal detail")

    app.include_router(router)
    with TestClient(app, raise_server_exceptions=False, follow_redirects=False) as client:
        yield client
    app.state.qms.store.dispose()


def test_internal_errors_show_a_reference_not_a_traceback(failing_client: TestClient) -> None:
    """An unexpected exception is a 500 page with a reference for the log; its message and traceback stay on the server."""
    response = failing_client.get("/explode")
    assert response.status_code == 500 and "reference" in response.text
    assert "secret internal detail" not in response.text and "Traceback" not in response.text


def test_serve_binds_loopback_unless_told() -> None:
    """`qms serve` binds 127.0.0.1 by default; another address is an explicit option."""
    result = CliRunner().invoke(make_app(["serve"]), ["serve", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0 and "127.0.0.1" in result.output and "--host" in result.output


def test_records_pages_read_the_store(client: TestClient) -> None:
    """The audit page shows the chain's status and filters by actor; validation and de-identification pages list their records."""
    sign_in(client, "demo.reviewer")
    audit_page = client.get("/audit", params={"actor": "demo.reviewer"}).text
    assert 'id="chain-status" class="pass"' in audit_page and "session.open" in audit_page and "user.add" not in audit_page
    assert "No validation run is recorded." in client.get("/validation").text
    assert "No de-identification batch is recorded." in client.get("/deid").text
