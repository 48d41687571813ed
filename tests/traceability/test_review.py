"""`review`: the reviewed fingerprint is written into the item file, and who and when into the store."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlmodel import select

from tests.traceability.trace_helpers import NEED, requirement, write_project
from qms import audit
from qms.errors import QmsError
from qms.store import Store
from qms.store.records import AuditEvent
from qms.traceability import Check, load_project_design, review
from qms.traceability.records import LinkReview


def test_review_rewrites_only_the_fingerprints_and_records_who(project_dir: Path, store: Store) -> None:
    """A review stamps each link with its parent's fingerprint, keeps comments and layout, and audits actor and links."""
    text = "# keep this comment\n" + requirement("REQ-001", "NEED-001") + "  # and this one\n"
    project = write_project(project_dir, {"n.yaml": NEED, "r.yaml": text})
    fingerprint = load_project_design(project).items["NEED-001"].fingerprint
    result = review(project, store, "REQ-001", "reviewer.one")
    new = (project_dir / "design" / "r.yaml").read_text()
    assert new == text.replace("  - NEED-001\n", f"  - NEED-001: {fingerprint}\n")
    assert result.reviewed == {"NEED-001": (None, fingerprint)}
    assert not [f for f in load_project_design(project).findings if f.check is Check.SUSPECT_LINK]
    reviews = store.all(LinkReview)
    assert [(r.item_id, r.parent_id, r.fingerprint, r.actor) for r in reviews] == [("REQ-001", "NEED-001", fingerprint, "reviewer.one")]
    events = store.all(AuditEvent, AuditEvent.action == "trace.review")
    assert len(events) == 1 and events[0].actor == "reviewer.one" and events[0].object == "item:REQ-001"
    assert json.loads(events[0].details)["reviewed"]["NEED-001"]["to"] == fingerprint
    assert audit.verify(store).intact


def test_re_review_after_a_change_replaces_the_old_fingerprint(project_dir: Path, store: Store) -> None:
    """After the parent changes, a second review replaces the stamp in place and records the previous one."""
    project = write_project(project_dir, {"n.yaml": NEED, "r.yaml": requirement("REQ-001", "NEED-001")})
    first = review(project, store, "REQ-001", "a").reviewed["NEED-001"][1]
    need = project_dir / "design" / "n.yaml"
    need.write_text(need.read_text().replace("a thing", "two things"), encoding="utf-8")
    second = review(project, store, "REQ-001", "b").reviewed["NEED-001"]
    assert second[0] == first and second[1] != first
    assert f"  - NEED-001: {second[1]}\n" in (project_dir / "design" / "r.yaml").read_text()
    assert review(project, store, "REQ-001", "c").reviewed == {}


def test_a_refused_review_changes_nothing(project_dir: Path, store: Store) -> None:
    """Reviewing an unknown item or a dangling link fails and leaves the file and the store as they were."""
    project = write_project(project_dir, {"n.yaml": NEED, "r.yaml": requirement("REQ-001", "NEED-404")})
    before = (project_dir / "design" / "r.yaml").read_bytes()
    events = len(store.all(AuditEvent))
    with pytest.raises(QmsError, match="REQ-404"):
        review(project, store, "REQ-404", "a")
    with pytest.raises(QmsError, match="NEED-404 does not exist"):
        review(project, store, "REQ-001", "a")
    assert (project_dir / "design" / "r.yaml").read_bytes() == before
    assert len(store.all(AuditEvent)) == events and store.all(LinkReview) == []


def test_a_review_in_a_malformed_file_is_refused(project_dir: Path, store: Store) -> None:
    """When the item's file has a YAML error further down, the review fails naming file and line, and changes nothing."""
    broken = requirement("REQ-001", "NEED-001") + "---\nid: REQ-002\ntitle: [unclosed\n"
    project = write_project(project_dir, {"n.yaml": NEED, "r.yaml": broken})
    before = (project_dir / "design" / "r.yaml").read_bytes()
    with pytest.raises(QmsError, match="cannot be read cleanly") as caught:
        review(project, store, "REQ-001", "a")
    assert (caught.value.where or "").startswith("design/r.yaml:")
    assert (project_dir / "design" / "r.yaml").read_bytes() == before
    assert store.all(LinkReview) == [] and store.all(AuditEvent, AuditEvent.action == "trace.review") == []
