"""The dashboard: the gate's verdict of HEAD and of each release, every finding with its hint."""

from __future__ import annotations

import json

import pytest
from starlette.testclient import TestClient

from qms.config import load_project
from qms.release.service import release_dir
from tests.web.browse import sign_in
from tests.web.site import VERSION, Site

pytestmark = pytest.mark.verifies("QMS-REQ-163")


def _section(html: str) -> str:
    return html.split(f'id="release-{VERSION}"')[1].split("</section>")[0]


def test_each_release_shows_its_recorded_gate_verdict_with_findings_and_hints(client: TestClient, site: Site) -> None:
    """A release's section shows the verdict recorded when it was authored, each finding with its reason and hint."""
    sign_in(client, "demo.reviewer")
    html = client.get("/").text
    assert 'id="verdict"' in html  # HEAD's verdict first
    section = _section(html)
    evidence = json.loads((release_dir(load_project(site.root), VERSION) / "data" / "evidence.json").read_text())
    recorded = evidence["verdict"]
    assert f'id="release-{VERSION}-gate"' in section and f"{len(recorded['findings'])} finding(s)" in section
    assert recorded["verdict"].upper() in section
    suspect = next(f for f in recorded["findings"] if "changed since the link was reviewed" in f["reason"])
    assert suspect["reason"] in section and suspect["hint"] in section
    assert f'id="release-{VERSION}-state" class="state-authored">authored<' in section


def test_a_verdict_that_is_not_the_recorded_one_is_not_shown(client: TestClient, site: Site) -> None:
    """A verdict edited in the release folder after authoring no longer matches the recorded digest: the page says so."""
    path = release_dir(load_project(site.root), VERSION) / "data" / "evidence.json"
    evidence = json.loads(path.read_text())
    evidence["verdict"]["verdict"], evidence["verdict"]["findings"] = "pass", []
    path.write_text(json.dumps(evidence))
    sign_in(client, "demo.reviewer")
    section = _section(client.get("/").text)
    assert "not the one recorded when the release was authored" in section and "PASS" not in section
