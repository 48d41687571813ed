"""The signing ceremony: who may sign (plan and roster), re-authentication, sign or decline, and what is recorded."""

from __future__ import annotations

import json

import pytest
from starlette.testclient import TestClient

from qms import audit
from qms.release_steps import steps
from qms.store import open_store
from tests.release.demo_org import passphrase
from tests.web.browse import post_form, sign_in
from tests.web.site import VERSION, Site

pytestmark = pytest.mark.verifies("QMS-REQ-161")

CEREMONY = f"/releases/{VERSION}/sign?meaning=reviewed"


def _sign(client: TestClient, meaning: str, user_id: str, secret: str) -> int:
    page = f"/releases/{VERSION}/sign?meaning={meaning}"
    return post_form(client, page, f"/releases/{VERSION}/sign", meaning=meaning, user_id=user_id,
                     passphrase=secret).status_code


def test_ceremony_shows_meaning_and_printed_name_before_signing(client: TestClient) -> None:
    """The signing page states the meaning and the signer's printed name and asks for the passphrase (and the id, first)."""
    sign_in(client, "demo.reviewer")
    html = client.get(CEREMONY).text
    assert 'id="meaning">reviewed<' in html and 'id="printed-name">Demo Reviewer<' in html
    assert 'id="sign-user-id"' in html and 'id="sign-passphrase"' in html


def test_wrong_role_is_refused(client: TestClient) -> None:
    """The author may not review their release, nor may a signer the plan does not name as reviewer: 403 with the reason."""
    sign_in(client, "demo.author")
    response = client.get(CEREMONY)
    assert response.status_code == 403 and "may not sign release 1.0.0 as reviewer" in response.text
    sign_in(client, "demo.approver")
    assert client.get(CEREMONY).status_code == 403
    assert client.post(f"/releases/{VERSION}/sign", data={"csrf": "x", "meaning": "reviewed", "passphrase": "p"}).status_code == 403


def test_reviewer_signs_with_id_and_passphrase_and_the_stamp_follows(client: TestClient, site: Site) -> None:
    """At the session's first signing a wrong id is refused and a wrong passphrase audited; then the signature is recorded."""
    sign_in(client, "demo.reviewer")
    assert _sign(client, "reviewed", "demo.approver", passphrase("demo.reviewer")) == 403
    assert _sign(client, "reviewed", "demo.reviewer", "not it") == 401
    assert _sign(client, "reviewed", "demo.reviewer", passphrase("demo.reviewer")) == 303
    page = client.get(f"/releases/{VERSION}").text
    assert 'id="release-state">reviewed<' in page and "Demo Reviewer" in page
    store = open_store(site.url, create=False)
    assert [s.step for s in steps(store, VERSION)] == ["authored", "reviewed"]
    refused = audit.log(store, action="signature.refused")
    applied = audit.log(store, action="signature.apply", object_prefix=f"release:{VERSION}:")
    store.dispose()
    assert [e.actor for e in refused] == ["demo.reviewer"]
    assert {e.actor for e in applied} == {"demo.author", "demo.reviewer"}


def test_later_signings_in_a_session_ask_only_the_passphrase(client: TestClient) -> None:
    """After a first signing (here: a decline) the ceremony no longer asks for the user id."""
    sign_in(client, "demo.reviewer")
    response = post_form(client, CEREMONY, f"/releases/{VERSION}/decline", meaning="reviewed", user_id="demo.reviewer",
                         passphrase=passphrase("demo.reviewer"), reason="the anomaly list misses ANOM-7")
    assert response.status_code == 303
    assert 'id="sign-user-id"' not in client.get(CEREMONY).text
    assert _sign(client, "reviewed", "", passphrase("demo.reviewer")) == 303


def test_decline_is_recorded_with_its_reason_and_signs_nothing(client: TestClient, site: Site) -> None:
    """Declining needs the passphrase and a reason; the release stays authored and the page shows who declined and why."""
    sign_in(client, "demo.reviewer")
    response = post_form(client, CEREMONY, f"/releases/{VERSION}/decline", meaning="reviewed", user_id="demo.reviewer",
                         passphrase=passphrase("demo.reviewer"), reason="the <b>trace</b> is stale")
    assert response.status_code == 303
    page = client.get(f"/releases/{VERSION}").text
    assert 'id="release-state">authored<' in page and "the &lt;b&gt;trace&lt;/b&gt; is stale" in page
    store = open_store(site.url, create=False)
    declined = audit.log(store, action="release.declined")
    store.dispose()
    assert [(e.actor, json.loads(e.details)["reason"]) for e in declined] == [("demo.reviewer", "the <b>trace</b> is stale")]


def test_approval_before_review_is_refused(client: TestClient) -> None:
    """The approver cannot sign a release that was not reviewed: the library's sequencing refusal is shown (409)."""
    sign_in(client, "demo.approver")
    response = post_form(client, "/audit", f"/releases/{VERSION}/sign", meaning="approved", user_id="demo.approver",
                         passphrase=passphrase("demo.approver"))
    assert response.status_code == 409 and "the next signature is reviewed" in response.text


def test_document_pages_are_previewed_as_png(client: TestClient) -> None:
    """Each page of a release document is served as a PNG made by pdftoppm; a name outside the release is 404."""
    sign_in(client, "demo.reviewer")
    html = client.get(f"/releases/{VERSION}").text
    assert f"/releases/{VERSION}/documents/anomaly-list/pages/1.png" in html
    png = client.get(f"/releases/{VERSION}/documents/anomaly-list/pages/1.png")
    assert png.status_code == 200 and png.content.startswith(b"\x89PNG")
    assert client.get(f"/releases/{VERSION}/documents/..%2Fqms/pages/1.png").status_code == 404
    assert client.get(f"/releases/{VERSION}/documents/nothing/pages/1.png").status_code == 404
