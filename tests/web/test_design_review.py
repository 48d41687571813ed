"""Design items in the browser: text, links, tests, a suspect link's diff, and its review by the signed-in person."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from qms import audit, checkpoint, checkpoint_log
from qms.config import load_project
from qms.gate import coverage
from qms.store import open_store
from tests.web.browse import post_form, sign_in
from tests.web.site import CHANGED_WORDS, SUSPECT_CHILD, SUSPECT_PARENT, Site

pytestmark = pytest.mark.verifies("QMS-REQ-163")


def test_item_page_shows_text_links_tests_and_history(client: TestClient) -> None:
    """An item's page shows its text, its parents and children, its verifying tests' section and its git history."""
    sign_in(client, "demo.reviewer")
    html = client.get(f"/items/{SUSPECT_CHILD}").text
    assert "Modality (0008,0060)" in html and f'href="/items/{SUSPECT_PARENT}"' in html
    assert "Verifying tests" in html and "the example project" in html
    listing = client.get("/items", params={"q": "pixel data"}).text
    assert 'href="/items/REQ-002"' in listing and 'href="/items/REQ-003"' not in listing


def test_suspect_link_shows_what_changed_in_the_parent(client: TestClient) -> None:
    """A suspect link's diff shows the parent's words as reviewed (from git) and as they are now; htmx gets the fragment."""
    sign_in(client, "demo.reviewer")
    assert "suspect: changed since last reviewed" in client.get(f"/items/{SUSPECT_CHILD}").text
    page = client.get(f"/items/{SUSPECT_CHILD}/links/{SUSPECT_PARENT}/diff").text
    assert "+The device must analyse" in page and CHANGED_WORDS in page and "<header>" in page
    fragment = client.get(f"/items/{SUSPECT_CHILD}/links/{SUSPECT_PARENT}/diff", headers={"HX-Request": "true"}).text
    assert CHANGED_WORDS in fragment and "<header>" not in fragment


def test_reviewer_clears_a_suspect_link_attributably(client: TestClient, site: Site) -> None:
    """Clearing a suspect link in the page is `qms trace review`: the item file is stamped, and the audit names the signed-in user."""
    sign_in(client, "demo.reviewer")
    assert "suspect_link" in client.get("/trace").text
    response = post_form(client, f"/items/{SUSPECT_CHILD}", f"/items/{SUSPECT_CHILD}/review", parent=SUSPECT_PARENT)
    assert response.status_code == 303
    assert "suspect: changed since last reviewed" not in client.get(f"/items/{SUSPECT_CHILD}").text
    store = open_store(site.url, create=False)
    events = audit.log(store, action="trace.review")
    store.dispose()
    assert [(e.actor, e.object) for e in events] == [("demo.reviewer", f"item:{SUSPECT_CHILD}")]
    assert not any(SUSPECT_CHILD in line and "suspect_link" in line for line in client.get("/trace").text.splitlines())


def test_a_review_in_the_page_is_witnessed_at_once(client: TestClient, site: Site) -> None:
    """The review's events are sealed into the checkpoint log when the request ends (a CLI command seals when it ends),
    so the gate's coverage, which refuses evidence no signed line witnesses, names none of them."""
    sign_in(client, "demo.reviewer")
    post_form(client, f"/items/{SUSPECT_CHILD}", f"/items/{SUSPECT_CHILD}/review", parent=SUSPECT_PARENT)
    store = open_store(site.url, create=False)
    try:
        records = load_project(site.root).records_dir
        found = coverage.check(store, records, checkpoint_log.trusted_key(site.home / checkpoint.KEY_FILE)).findings
        reviews = [e.seq for e in audit.log(store, action="trace.review")]
    finally:
        store.dispose()
    assert reviews and not [f for f in found if "witnessed" in f.reason], found


def test_user_text_is_escaped(client: TestClient) -> None:
    """Text typed into a filter comes back as text, never as markup."""
    sign_in(client, "demo.reviewer")
    html = client.get("/items", params={"q": "<script>alert(1)</script>"}).text
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;" in html
