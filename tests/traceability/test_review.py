"""`review`: the reviewed fingerprint is written into the item file, and who and when into the store."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlmodel import select

from tests.traceability.trace_helpers import NEED, requirement, write_project
from qms import audit
from qms.errors import QmsError
from qms.store import Store, open_store
from qms.store.records import AuditEvent
from qms.traceability import Check, load_project_design
from qms.traceability.records import LinkReview
from qms.traceability.review import review, review_many


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


def _records(store: Store) -> tuple[list[tuple[str | None, ...]], list[tuple[str | None, ...]]]:
    """Link reviews and trace.review events, without ids and times: what a review leaves in the store."""
    reviews = [(r.item_id, r.parent_id, r.fingerprint, r.previous, r.actor) for r in store.all(LinkReview)]
    events = [(e.actor, e.object, e.details, e.before_digest, e.after_digest)
              for e in store.all(AuditEvent, AuditEvent.action == "trace.review")]
    return sorted(reviews), sorted(events)


def test_several_items_reviewed_together_leave_what_reviewing_each_alone_leaves(tmp_path: Path, store: Store) -> None:
    """`review_many` writes the same files, link reviews and one audit event per item as reviewing the items one by one."""
    design = {"n.yaml": NEED + "---\nid: NEED-002\ntype: need\ntitle: B\ntext: Another need.\n",
              "r.yaml": requirement("REQ-001", "NEED-001") + "---\n" + requirement("REQ-002", "NEED-001", "NEED-002"),
              "s.yaml": requirement("REQ-003", "NEED-002")}
    together, alone = write_project(tmp_path / "a", design), write_project(tmp_path / "b", design)
    other = open_store(f"sqlite:///{tmp_path / 'alone.db'}")
    try:
        results = review_many(together, store, ["REQ-001", "REQ-002", "REQ-003"], "reviewer.one")
        singles = [review(alone, other, i, "reviewer.one") for i in ("REQ-001", "REQ-002", "REQ-003")]
        assert results == singles and all(r.reviewed for r in results)
        for name in design:
            assert (tmp_path / "a" / "design" / name).read_bytes() == (tmp_path / "b" / "design" / name).read_bytes()
        assert _records(store) == _records(other) and len(_records(store)[1]) == 3
    finally:
        other.dispose()
    assert not [f for f in load_project_design(together).findings if f.check is Check.SUSPECT_LINK]
    assert audit.verify(store).intact


def test_a_bad_item_among_several_changes_nothing(project_dir: Path, store: Store) -> None:
    """An unknown id or a dangling link in the middle of a batch refuses the whole batch: no file, record or event changes."""
    design = {"n.yaml": NEED, "r.yaml": requirement("REQ-001", "NEED-001"), "s.yaml": requirement("REQ-002", "NEED-001"),
              "t.yaml": requirement("REQ-003", "NEED-404")}
    project = write_project(project_dir, design)
    before = {n: (project_dir / "design" / n).read_bytes() for n in design}
    events = len(store.all(AuditEvent))
    with pytest.raises(QmsError, match="REQ-404"):
        review_many(project, store, ["REQ-001", "REQ-404", "REQ-002"], "a")
    with pytest.raises(QmsError, match="NEED-404 does not exist"):
        review_many(project, store, ["REQ-001", "REQ-003", "REQ-002"], "a")
    assert {n: (project_dir / "design" / n).read_bytes() for n in design} == before
    assert len(store.all(AuditEvent)) == events and store.all(LinkReview) == []
