"""Two people acting at once through the browser application on PostgreSQL: nothing lost, one unbroken audit chain."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from qms import audit
from qms.release_steps import steps
from qms.store import open_store
from qms.web import create_app
from tests.release.demo_org import passphrase
from tests.web.browse import csrf_of, post_form, sign_in
from tests.web.site import SUSPECT_CHILD, SUSPECT_PARENT, VERSION, build_site

pytestmark = [pytest.mark.postgres, pytest.mark.verifies("QMS-REQ-161", "QMS-REQ-160")]


def test_two_users_signing_at_once_lose_nothing(postgres_url: str, tmp_path: Path) -> None:
    """A reviewer signs the release while another person reviews a suspect link and signs out, at the same moment: every
    record and event is kept, and the chain verifies intact."""
    site = build_site(tmp_path, postgres_url)
    app = create_app(site.settings())
    with TestClient(app, follow_redirects=False) as reviewer, TestClient(app, follow_redirects=False) as author:
        assert sign_in(reviewer, "demo.reviewer").status_code == 303
        assert sign_in(author, "demo.author").status_code == 303
        store = open_store(postgres_url, create=False)
        before = audit.head(store)[0]
        ceremony, item = f"/releases/{VERSION}/sign?meaning=reviewed", f"/items/{SUSPECT_CHILD}"
        sign_token, review_token = reviewer.get(ceremony).text, author.get(item).text
        start = threading.Barrier(2)
        results: dict[str, int] = {}
        messages: dict[str, str] = {}

        def sign() -> None:
            start.wait()
            response = reviewer.post(f"/releases/{VERSION}/sign", data={
                "csrf": csrf_of(sign_token), "meaning": "reviewed", "user_id": "demo.reviewer",
                "passphrase": passphrase("demo.reviewer")})
            results["sign"] = response.status_code
            messages["sign"] = response.text

        def review() -> None:
            start.wait()
            results["review"] = author.post(f"{item}/review", data={"csrf": csrf_of(review_token),
                                                                    "parent": SUSPECT_PARENT}).status_code
            results["signout"] = post_form(author, "/audit", "/signout").status_code

        threads = [threading.Thread(target=sign), threading.Thread(target=review)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert results == {"sign": 303, "review": 303, "signout": 303}, messages
        assert [s.step for s in steps(store, VERSION)] == ["authored", "reviewed"]
        actions = [(e.actor, e.action) for e in audit.log(store) if e.seq > before]
        assert ("demo.reviewer", "signature.apply") in actions and ("demo.reviewer", "release.reviewed") in actions
        assert ("demo.author", "trace.review") in actions and ("demo.author", "session.close") in actions
        report = audit.verify(store)
        assert report.intact and report.events == audit.head(store)[0]
        store.dispose()
    app.state.qms.store.dispose()
