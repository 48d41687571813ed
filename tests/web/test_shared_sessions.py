"""Sessions live in the project's store: two `qms serve` processes, or one restarted, share them; the store holds no token."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import text
from starlette.testclient import TestClient

from qms.store import open_store
from qms.web import create_app
from qms.web.records import WebSessionRecord
from qms.web.sessions import COOKIE
from tests.web.browse import csrf_of, post_form, sign_in
from tests.web.site import Clock, Site, build_site

pytestmark = pytest.mark.verifies("QMS-REQ-160")


@contextmanager
def _instance(site: Site, clock: Clock) -> Iterator[TestClient]:
    """One application over the site's store, as a separate `qms serve` process would be."""
    app = create_app(site.settings(clock))
    with TestClient(app, base_url="http://127.0.0.1", follow_redirects=False) as client:
        yield client
    app.state.qms.store.dispose()


def test_a_session_opened_on_one_server_is_honoured_by_another_and_after_a_restart(site: Site, clock: Clock) -> None:
    """Signed in on server A, the same cookie opens pages on server B and on a restarted A; the CSRF token carries over."""
    with _instance(site, clock) as first:
        assert sign_in(first, "demo.reviewer").status_code == 303
        token = first.cookies[COOKIE]
        form_token = csrf_of(first.get("/audit").text)
    with _instance(site, clock) as second, _instance(site, clock) as third:
        for client in (second, third):
            client.cookies.set(COOKIE, token)
            page = client.get("/audit")
            assert page.status_code == 200 and 'id="signed-in-as">demo.reviewer<' in page.text
            assert csrf_of(page.text) == form_token
        assert post_form(second, "/audit", "/signout").status_code == 303
        assert third.get("/audit").status_code == 303  # signed out on B: ended on C too


def test_idle_timeout_and_first_signing_are_shared_between_servers(site: Site, clock: Clock) -> None:
    """Activity on one server keeps the session alive on the other; idle past the timeout it ends on both."""
    with _instance(site, clock) as a, _instance(site, clock) as b:
        assert sign_in(a, "demo.reviewer").status_code == 303
        b.cookies.set(COOKIE, a.cookies[COOKIE])
        idle = a.app.state.qms.settings.idle_timeout.total_seconds() / 60  # type: ignore[attr-defined]
        clock.advance(idle - 1)
        assert a.get("/audit").status_code == 200
        clock.advance(idle - 1)
        assert b.get("/audit").status_code == 200  # A's activity counted on B
        clock.advance(idle)
        assert b.get("/audit").status_code == 303
        assert a.get("/audit").status_code == 303


def test_the_store_keeps_only_a_hash_of_the_session_token(client: TestClient, site: Site) -> None:
    """A copy of the database opens no session: the token is nowhere in it, only its sha256."""
    assert sign_in(client, "demo.reviewer").status_code == 303
    token = client.cookies[COOKIE]
    store = open_store(site.url, create=False)
    try:
        rows = store.all(WebSessionRecord)
        with store.engine.connect() as conn:
            dumped = " ".join(str(r) for t in ("web_session", "web_session_mark")
                              for r in conn.execute(text(f"SELECT * FROM {t}")))  # noqa: S608 - fixed table names
    finally:
        store.dispose()
    assert [r.user_id for r in rows] == ["demo.reviewer"] and token not in dumped


@pytest.mark.postgres
def test_sessions_are_shared_by_two_servers_on_postgresql(postgres_url: str, tmp_path: Path, clock: Clock) -> None:
    """On a team's PostgreSQL store too, a session opened on one server opens pages on another, and ends on both."""
    site = build_site(tmp_path, postgres_url)
    with _instance(site, clock) as a, _instance(site, clock) as b:
        assert sign_in(a, "demo.approver").status_code == 303
        b.cookies.set(COOKIE, a.cookies[COOKIE])
        assert 'id="signed-in-as">demo.approver<' in b.get("/audit").text
        assert post_form(a, "/audit", "/signout").status_code == 303
        assert b.get("/audit").status_code == 303
