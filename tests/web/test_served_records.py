"""`qms serve`'s store answers to the project's checkpoint log, and its session rows to their audit events."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import pytest
from starlette.testclient import TestClient

from qms import audit, checkpoint, checkpoint_log
from qms.config import load_project
from qms.gate.grants import grant_findings
from qms.store import open_store
from qms.web.sessions import COOKIE
from tests.core.tamper import execute
from tests.release.demo_org import passphrase
from tests.web.browse import post_form, sign_in
from tests.web.site import VERSION, Site

pytestmark = pytest.mark.verifies("QMS-REQ-160", "QMS-REQ-161")


def test_refusals_and_signatures_in_the_browser_are_checkpointed(client: TestClient, site: Site) -> None:
    """A refused passphrase at sign-in and a signature made in the browser are both covered by a signed checkpoint."""
    assert sign_in(client, "demo.reviewer", "not it").status_code == 401
    sign_in(client, "demo.reviewer")
    page = f"/releases/{VERSION}/sign?meaning=reviewed"
    assert post_form(client, page, f"/releases/{VERSION}/sign", meaning="reviewed", user_id="demo.reviewer",
                     passphrase=passphrase("demo.reviewer")).status_code == 303
    store = open_store(site.url, create=False)
    try:
        refused = audit.log(store, action="signature.refused")
        signed = audit.log(store, action="signature.apply", object_prefix=f"release:{VERSION}:")
        log = checkpoint_log.read(load_project(site.root).records_dir / checkpoint_log.LOG_FILE, store.store_id,
                                  checkpoint_log.trusted_key(site.home / checkpoint.KEY_FILE))
    finally:
        store.dispose()
    assert refused and signed and not log.findings and log.latest is not None
    refusal = refused[0].seq
    assert refusal in log.pins  # sealed at the refusal itself, before the sign-in page answered
    assert max(e.seq for e in signed) <= log.latest.seq


def test_a_session_row_inserted_by_sql_is_a_finding(client: TestClient, site: Site) -> None:
    """A browser session inserted into the store for another person (a cookie the forger holds) is a gate finding."""
    sign_in(client, "demo.reviewer")
    store = open_store(site.url, create=False)
    try:
        assert grant_findings(store)[0] == []
        token = "forged-session-token"
        execute(store, "INSERT INTO web_session (id, created_at, token_sha256, user_id, opened_at) "
                       "VALUES ('f0', :t, :h, 'demo.approver', :t)", t=datetime.now(UTC).replace(tzinfo=None), h=hashlib.sha256(token.encode()).hexdigest())
        client.cookies.set(COOKIE, token)
        assert client.get("/").status_code == 200  # what the forged row would open
        assert [f"{f.item}: {f.reason}" for f in grant_findings(store)[0]] == [
            "web_session user:demo.approver (row f0): the web_session row has no audit event: the row was inserted "
            "outside qmskit"]
    finally:
        store.dispose()
