"""Signing in and sessions (21 CFR 11.10(d), 11.300): two components, lockout, revocation, idle timeout, sign-out."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from qms import audit
from qms.errors import ConfigError
from qms.signing import revoke
from qms.signing.lockout import MAX_FAILURES
from qms.store import open_store
from qms.store.records import AuditEvent
from qms.web.sessions import COOKIE
from tests.web.browse import csrf_of, sign_in
from tests.web.site import Clock, Site

pytestmark = pytest.mark.verifies("QMS-REQ-160")


def _events(site: Site, action: str) -> list[AuditEvent]:
    store = open_store(site.url, create=False)
    try:
        return audit.log(store, action=action)
    finally:
        store.dispose()


def test_sign_in_opens_an_audited_session_with_a_strict_http_only_cookie(client: TestClient, site: Site) -> None:
    """The right user id and passphrase open a session: HttpOnly, SameSite=Strict cookie, and a session.open event by that user."""
    response = sign_in(client, "demo.reviewer")
    assert response.status_code == 303 and response.headers["location"] == "/"
    cookie = next(c for c in response.headers.get_list("set-cookie") if c.startswith(COOKIE + "="))
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Secure" not in cookie
    assert client.get("/").status_code == 200
    assert [e.actor for e in _events(site, "session.open")] == ["demo.reviewer"]


def test_wrong_passphrase_is_refused_and_audited(client: TestClient, site: Site) -> None:
    """A wrong passphrase opens nothing, says so without telling which component was wrong, and is audited."""
    response = sign_in(client, "demo.reviewer", "not the passphrase")
    assert response.status_code == 401 and "user id or the passphrase is wrong" in response.text
    assert COOKIE not in client.cookies
    assert client.get("/").status_code == 303
    assert [e.object for e in _events(site, "signature.refused")] == ["user:demo.reviewer"]


def test_repeated_failures_lock_the_identity_even_against_the_right_passphrase(client: TestClient, site: Site) -> None:
    """After five wrong passphrases the identity is locked: the right one is refused too, and the lock is audited."""
    for _ in range(MAX_FAILURES):
        assert sign_in(client, "demo.approver", "wrong wrong wrong").status_code == 401
    response = sign_in(client, "demo.approver")
    assert response.status_code == 401 and "locked" in response.text
    assert client.get("/").status_code == 303
    assert _events(site, "identity.locked")


def test_revoked_identity_cannot_sign_in(client: TestClient, site: Site) -> None:
    """An identity whose certificate was revoked is refused at sign-in with the passphrase it always had."""
    store = open_store(site.url, create=False)
    revoke(store, "demo.approver", "key lost", actor="admin")
    store.dispose()
    response = sign_in(client, "demo.approver")
    assert response.status_code == 401 and "revoked" in response.text


def test_service_identity_cannot_sign_in(client: TestClient) -> None:
    """A CI service identity, even with its passphrase, gets no browser session: only people sign in."""
    response = sign_in(client, "ci.release")
    assert response.status_code == 401 and "service identity" in response.text


def test_unknown_user_reads_like_a_wrong_passphrase(client: TestClient, site: Site) -> None:
    """An id that is not enrolled gets the same answer as a wrong passphrase, and the attempt is audited."""
    response = sign_in(client, "nobody.here", "whatever passphrase")
    assert response.status_code == 401 and "user id or the passphrase is wrong" in response.text
    assert [e.object for e in _events(site, "session.refused")] == ["user:nobody.here"]


def test_idle_session_ends_after_the_configured_timeout(client: TestClient, site: Site, clock: Clock) -> None:
    """A session unused for the configured idle time ends (audited as session.timeout); activity before it keeps it alive."""
    idle = client.app.state.qms.settings.idle_timeout.total_seconds() / 60  # type: ignore[attr-defined]
    assert sign_in(client, "demo.reviewer").status_code == 303
    clock.advance(idle - 1)
    assert client.get("/audit").status_code == 200
    clock.advance(idle - 1)
    assert client.get("/audit").status_code == 200
    clock.advance(idle)
    response = client.get("/audit")
    assert response.status_code == 303 and "expired=1" in response.headers["location"]
    assert [e.actor for e in _events(site, "session.timeout")] == ["demo.reviewer"]
    assert client.get("/audit").status_code == 303


def test_idle_timeout_comes_from_the_project_configuration(site: Site) -> None:
    """`[tool.qms.signing] idle_timeout_minutes` sets the timeout; a value out of range is a configuration error."""
    config = site.root / "qms.toml"
    text = config.read_text()
    table = "[tool.qms.signing]\n" if "[tool.qms.signing]\n" in text else None
    config.write_text(text.replace(table, table + "idle_timeout_minutes = 7\n") if table else
                      text + "\n[tool.qms.signing]\nidle_timeout_minutes = 7\n")
    assert site.settings().idle_timeout.total_seconds() == 7 * 60
    config.write_text(config.read_text().replace("idle_timeout_minutes = 7", "idle_timeout_minutes = 0"))
    with pytest.raises(ConfigError, match="idle_timeout_minutes"):
        site.settings()


def test_sign_out_ends_the_session(client: TestClient, site: Site) -> None:
    """Signing out removes the session on the server: the old cookie no longer opens any page."""
    assert sign_in(client, "demo.reviewer").status_code == 303
    token = client.cookies[COOKIE]
    response = client.post("/signout", data={"csrf": csrf_of(client.get("/audit").text)})
    assert response.status_code == 303
    client.cookies.set(COOKIE, token)
    assert client.get("/").status_code == 303
    assert [e.actor for e in _events(site, "session.close")] == ["demo.reviewer"]


def test_signing_in_again_ends_the_earlier_session(client: TestClient) -> None:
    """A second sign-in in the same browser closes the first session on the server: its token opens nothing afterwards."""
    assert sign_in(client, "demo.reviewer").status_code == 303
    first = client.cookies[COOKIE]
    assert sign_in(client, "demo.author").status_code == 303
    client.cookies.clear()
    client.cookies.set(COOKIE, first)
    assert client.get("/").status_code == 303
