"""The trace matrix against recorded test runs: coverage, red ancestors, and every kind of gap."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.traceability.trace_helpers import HAZ, NEED, RC, git_commit, make_run, requirement, write_project
from qms.config import Project
from qms.store import Store
from qms.traceability import Check, Outcome, Status, record_run, trace
from qms.traceability.review import review

pytestmark = pytest.mark.verifies("QMS-REQ-007")


def _reviewed(project: Project, store: Store, *ids: str) -> None:
    for item_id in ids:
        review(project, store, item_id, "test.engineer")


@pytest.fixture
def device(project_dir: Path, store: Store) -> tuple[Project, str]:
    """A need, two requirements, a hazard and its control, all links reviewed, committed."""
    project = write_project(project_dir, {"n.yaml": NEED, "r.yaml": requirement("REQ-001", "NEED-001") + "---\n"
                                          + requirement("REQ-002", "NEED-001", "RC-001"), "h.yaml": HAZ, "c.yaml": RC})
    _reviewed(project, store, "REQ-001", "REQ-002", "RC-001")
    return project, git_commit(project_dir)


def test_passing_tests_at_head_verify_everything(device: tuple[Project, str], store: Store) -> None:
    """With every linked test passed in a clean run of HEAD, every item is verified and no gap blocks."""
    project, head = device
    record_run(store, make_run(project, head, {"t::a": (Outcome.PASSED, ("REQ-001",)),
                                           "t::b": (Outcome.PASSED, ("REQ-002", "RC-001"))}), "ci")
    report = trace(project, store)
    assert report.passed, [g.text() for g in report.blocking]
    assert {r.status for r in report.rows.values()} == {Status.VERIFIED}


def test_a_failing_test_turns_its_requirement_and_every_ancestor_red(device: tuple[Project, str], store: Store) -> None:
    """A failed test makes its requirement failed, the need and the hazard above it not fully verified."""
    project, head = device
    record_run(store, make_run(project, head, {"t::a": (Outcome.PASSED, ("REQ-001",)), "t::b": (Outcome.PASSED, ("RC-001",)),
                                           "t::c": (Outcome.FAILED, ("REQ-002",))}), "ci")
    report = trace(project, store)
    assert report.rows["REQ-002"].status is Status.FAILED
    assert report.rows["NEED-001"].status is Status.INCOMPLETE
    assert report.rows["RC-001"].status is Status.INCOMPLETE and report.rows["HAZ-001"].status is Status.INCOMPLETE
    checks = {(g.check, g.item) for g in report.blocking}
    assert {(Check.TEST_FAILED, "REQ-002"), (Check.NOT_VERIFIED, "NEED-001"), (Check.HAZARD_UNVERIFIED, "HAZ-001")} <= checks


def test_results_from_another_commit_or_a_dirty_tree_are_not_evidence(device: tuple[Project, str], store: Store) -> None:
    """A pass recorded on a dirty tree of HEAD, or at an older commit, leaves the requirement unverified."""
    project, head = device
    record_run(store, make_run(project, "0" * 40, {"t::a": (Outcome.PASSED, ("REQ-001",))}), "ci")
    record_run(store, make_run(project, head, {"t::b": (Outcome.PASSED, ("REQ-002", "RC-001"))}, dirty=True), "ci")
    report = trace(project, store)
    assert {(g.check, g.item) for g in report.blocking} >= {(Check.NOT_AT_HEAD, "REQ-001"), (Check.DIRTY_TREE, "REQ-002")}
    assert not report.covered("REQ-001") and not report.covered("REQ-002")


def test_untested_items_orphans_and_unlinked_tests_are_gaps(device: tuple[Project, str], store: Store) -> None:
    """An untested requirement is a gap, a test of a removed item is an orphan, an unlinked test is a warning."""
    project, head = device
    record_run(store, make_run(project, head, {"t::a": (Outcome.PASSED, ("REQ-001", "REQ-999")), "t::b": (Outcome.SKIPPED, ("RC-001",)),
                                           "t::plain": (Outcome.PASSED, ())}), "ci")
    gaps = {(g.check, g.item or g.where, g.blocking) for g in trace(project, store).gaps}
    assert {(Check.NO_TEST, "REQ-002", True), (Check.ORPHAN_TEST, "REQ-999", True), (Check.TEST_SKIPPED, "RC-001", True),
            (Check.UNLINKED_TEST, "t::plain", False)} <= gaps


def test_a_changed_parent_makes_links_suspect_until_reviewed(device: tuple[Project, str], store: Store) -> None:
    """Editing a need's meaning makes its children's links suspect, and neither they nor the need show as verified; a review clears it."""
    project, _ = device
    path = project.root / "design" / "n.yaml"
    path.write_text(path.read_text().replace("needs a thing", "needs another thing"), encoding="utf-8")
    head = git_commit(project.root)
    record_run(store, make_run(project, head, {"t::a": (Outcome.PASSED, ("REQ-001",)),
                                           "t::b": (Outcome.PASSED, ("REQ-002", "RC-001"))}), "ci")
    report = trace(project, store)
    assert {(g.item, g.check) for g in report.blocking} == {("REQ-001", Check.SUSPECT_LINK), ("REQ-002", Check.SUSPECT_LINK),
                                                            ("NEED-001", Check.NOT_VERIFIED)}
    assert {i: report.rows[i].status for i in ("REQ-001", "REQ-002")} == {"REQ-001": Status.INCOMPLETE,
                                                                          "REQ-002": Status.INCOMPLETE}
    _reviewed(project, store, "REQ-001", "REQ-002")
    head = git_commit(project.root)
    record_run(store, make_run(project, head, {"t::a": (Outcome.PASSED, ("REQ-001",)),
                                           "t::b": (Outcome.PASSED, ("REQ-002", "RC-001"))}), "ci")
    assert trace(project, store).passed


def test_a_hazard_without_a_risk_control_is_not_verified(project_dir: Path, store: Store) -> None:
    """A hazard no risk control mitigates is a hazard_unverified gap."""
    project = write_project(project_dir, {"h.yaml": HAZ})
    git_commit(project_dir)
    report = trace(project, store)
    assert [(g.check, g.item) for g in report.blocking] == [(Check.HAZARD_UNVERIFIED, "HAZ-001")]


def test_without_git_nothing_is_verified(project_dir: Path, store: Store) -> None:
    """Outside a git repository there is no HEAD, so even a passing test is not evidence."""
    project = write_project(project_dir, {"n.yaml": NEED, "r.yaml": requirement("REQ-001", "NEED-001")})
    _reviewed(project, store, "REQ-001")
    record_run(store, make_run(project, None, {"t::a": (Outcome.PASSED, ("REQ-001",))}), "ci")
    assert not trace(project, store).covered("REQ-001")


def test_without_a_commit_the_hint_says_to_commit_not_to_rerun(project_dir: Path, store: Store) -> None:
    """Outside git or before the first commit, a test's gap tells the user to commit, never to run `qms test` at this commit."""
    project = write_project(project_dir, {"n.yaml": NEED, "r.yaml": requirement("REQ-001", "NEED-001")})
    record_run(store, make_run(project, None, {"t::a": (Outcome.PASSED, ("REQ-001",))}), "ci")
    [gap] = [g for g in trace(project, store).gaps if g.check == Check.NOT_AT_HEAD]
    assert "commit your work" in gap.hint and "at this commit" not in gap.hint
    assert "not in git, or nothing is committed yet" in gap.reason


def test_an_item_still_holding_the_templates_placeholders_is_a_gap(device: tuple[Project, str], store: Store) -> None:
    """A design item whose title, text or hazard fields still hold `qms new`'s placeholders is a gap of `qms trace`
    at the first such field's line, naming every such field (the gate's design criterion reports the same gap)."""
    from qms.traceability import ItemType
    from qms.traceability.template import item_template

    project, _ = device
    (project.design_dir / "haz-099.yaml").write_text(item_template(ItemType.HAZARD, "HAZ-099", (), "B"), encoding="utf-8")
    (project.design_dir / "n.yaml").write_text(NEED.replace("title: A need", "title: A short title"), encoding="utf-8")
    gaps = {g.item: g for g in trace(project, store).blocking if g.check == Check.PLACEHOLDER}
    assert set(gaps) == {"HAZ-099", "NEED-001"}
    assert gaps["NEED-001"].where == "design/n.yaml:3" and gaps["NEED-001"].reason.startswith("title still")
    hazard = gaps["HAZ-099"]
    assert hazard.where == "design/haz-099.yaml:4"
    assert hazard.reason == ("title and text and hazardous_situation and harm still the template's placeholder "
                             "(`qms new` wrote it; the item was never written)")
