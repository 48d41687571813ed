"""A verifying test whose source changed since its link was reviewed makes the link suspect (real pytest sessions, pytester)."""

from __future__ import annotations

import pytest

from qms.config import load_project
from qms.errors import QmsError
from qms.findings import Finding
from qms.gate.grants import grant_findings
from qms.store import Store, open_store
from qms.traceability import Check, trace
from qms.traceability.testsource import review_test, source_fingerprint, suspect_tests
from tests.traceability.trace_helpers import NEED, git_commit, requirement, write_project

REAL = '''
import pytest

@pytest.mark.verifies("REQ-001")
def test_threshold():
    """The threshold flags a positive case."""
    assert 0.7 >= 0.5
'''

GUTTED = '''
import pytest

@pytest.mark.verifies("REQ-001")
def test_threshold():
    """The threshold flags a positive case."""
    pass
'''

NODE = "test_device.py::test_threshold"


def _suspects(pytester: pytest.Pytester, store: Store) -> list[Finding]:
    report = trace(load_project(pytester.path), store, use_cache=False)
    return suspect_tests(store, report.tests)


def _device(pytester: pytest.Pytester) -> str:
    """A project with one need and REQ-001 under it; the URL of its store."""
    write_project(pytester.path, {"n.yaml": NEED, "r.yaml": requirement("REQ-001", "NEED-001")})
    return f"sqlite:///{pytester.path / 'store.db'}"


def _session(pytester: pytest.Pytester, url: str, source: str) -> None:
    pytester.makepyfile(test_device=source)
    git_commit(pytester.path)
    pytester.runpytest(f"--qms-store={url}", "-p", "no:cacheprovider").assert_outcomes(passed=1)


def test_gutted_test_makes_its_link_suspect(pytester: pytest.Pytester) -> None:
    """A verifying test reduced to `pass` still passes, but its link to the requirement becomes suspect until reviewed."""
    url = _device(pytester)
    _session(pytester, url, REAL)
    store = open_store(url)
    try:
        assert _suspects(pytester, store) == []
        _session(pytester, url, GUTTED)
        found = _suspects(pytester, store)
        assert [(f.check, f.item) for f in found] == [(Check.SUSPECT_LINK, NODE)] and "REQ-001" in found[0].reason
        report = trace(load_project(pytester.path), store, use_cache=False)
        review = review_test(store, report.tests, NODE, "bob")
        assert list(review.changes) == ["REQ-001"]
        assert _suspects(pytester, store) == []
        assert grant_findings(store)[0] == []  # the review rows match their `trace.review-test` event
        assert review_test(store, report.tests, NODE, "bob").changes == {}  # nothing left to review
    finally:
        store.dispose()


def test_fingerprint_ignores_indentation_not_content() -> None:
    """The fingerprint is the same for the same source at any indentation, and differs when the body changes."""
    namespace: dict[str, object] = {}
    exec(compile("def f():\n    return 1\n", "a.py", "exec"), namespace)  # noqa: S102 - a synthetic test function
    assert source_fingerprint(namespace["f"]) is None  # no file behind it: no fingerprint rather than a wrong one
    assert source_fingerprint(test_fingerprint_ignores_indentation_not_content) is not None
    assert source_fingerprint(_session) != source_fingerprint(_suspects)


def test_review_test_command_clears_the_suspect_link(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    """`qms trace review-test NODEID` needs an authenticated reviewer: without an unlocked session it is refused
    (exit 2); in one it records the review of a changed test, and its link is no longer suspect."""
    import os
    from pathlib import Path

    from typer.testing import CliRunner

    from qms.cli.main import app
    from qms.signing import Role, add_user
    from qms.signing.identity import init_ca
    from qms.signing.session import open_session

    url = _device(pytester)
    _session(pytester, url, REAL)
    _session(pytester, url, GUTTED)
    monkeypatch.setenv("QMS_DATABASE_URL", url)
    refused = CliRunner().invoke(app, ["-C", str(pytester.path), "trace", "review-test", NODE, "--json"])
    assert refused.exit_code == 2, refused.output
    home = Path(os.environ["QMS_HOME"])
    init_ca(home, "Example Devices Ltd", "ca-passphrase-1")
    store = open_store(url)
    try:
        add_user(store, home, "rita", "Rita Reviewer", Role.QUALITY, "rita-passphrase", "ca-passphrase-1", actor="admin")
        open_session(store, home, "rita", "rita-passphrase")
    finally:
        store.dispose()
    result = CliRunner().invoke(app, ["-C", str(pytester.path), "trace", "review-test", NODE, "--json"])
    assert result.exit_code == 0, result.output
    store = open_store(url)
    try:
        assert _suspects(pytester, store) == []
    finally:
        store.dispose()


def test_trace_shows_the_suspect_test_link_the_gate_blocks_on(pytester: pytest.Pytester) -> None:
    """`qms trace`'s report holds a changed test's suspect link as a blocking gap, the same finding the gate reports."""
    from qms.gate.checks.trace import criterion_of

    url = _device(pytester)
    _session(pytester, url, REAL)
    _session(pytester, url, GUTTED)
    store = open_store(url)
    try:
        for use_cache in (False, True, True):  # built, then read back from the report cache
            report = trace(load_project(pytester.path), store, use_cache=use_cache)
            found = [g for g in report.blocking if g.item == NODE]
            assert [g.check for g in found] == [Check.SUSPECT_LINK] and criterion_of(found[0]) == "design"
        review_test(store, report.tests, NODE, "bob")
        assert not any(g.item == NODE for g in trace(load_project(pytester.path), store).gaps)
    finally:
        store.dispose()


def test_a_rewritten_requirement_makes_its_test_links_suspect(pytester: pytest.Pytester) -> None:
    """A requirement whose text changed since its test link was reviewed makes that link suspect until the test is
    reviewed again at HEAD (IEC 62304 change control), as a changed test does."""
    url = _device(pytester)
    _session(pytester, url, REAL)
    write_project(pytester.path, {"n.yaml": NEED, "r.yaml": requirement("REQ-001", "NEED-001",
                                                                        text="The software shall never do a thing.")})
    git_commit(pytester.path)
    project = load_project(pytester.path)
    store = open_store(url)
    try:
        report = trace(project, store)
        found = [g for g in report.blocking if g.item == NODE]
        assert [g.check for g in found] == [Check.SUSPECT_LINK] and "REQ-001 changed" in found[0].reason
        assert suspect_tests(store, report.tests) == []  # without the design, only the test's own change counts
        with pytest.raises(QmsError, match="has not run at HEAD"):
            review_test(store, report.tests, NODE, "bob", report.design, project.root)
        pytester.runpytest(f"--qms-store={url}", "-p", "no:cacheprovider").assert_outcomes(passed=1)
        report = trace(project, store)
        assert [g.item for g in report.blocking if g.item == NODE] == [NODE]  # running it again is no review
        assert list(review_test(store, report.tests, NODE, "bob", report.design, project.root).changes) == ["REQ-001"]
        assert not any(g.item == NODE for g in trace(project, store).gaps)
        assert grant_findings(store)[0] == []
    finally:
        store.dispose()


RENAMED_GUTTED = '''
import pytest

@pytest.mark.verifies("REQ-001")
def test_threshold_kept():
    pass
'''

MARKER_MOVED = '''
import pytest

def test_threshold():
    """The threshold flags a positive case."""
    assert 0.7 >= 0.5

@pytest.mark.verifies("REQ-001")
def test_anything():
    pass
'''


@pytest.mark.parametrize(("after", "node"), [(RENAMED_GUTTED, "test_device.py::test_threshold_kept"),
                                             (MARKER_MOVED, "test_device.py::test_anything")],
                         ids=["renamed-and-gutted", "marker-moved"])
def test_verification_moved_to_a_new_test_is_suspect_until_reviewed(pytester: pytest.Pytester, after: str,
                                                                     node: str) -> None:
    """A test renamed (and gutted), or the marker moved to another test, is a new link no one reviewed: it used to
    verify REQ-001 on its first run unseen. Suspect, naming the test it moved from, until the new test is reviewed."""
    url = _device(pytester)
    _session(pytester, url, REAL)
    pytester.makepyfile(test_device=after)
    git_commit(pytester.path)
    pytester.runpytest(f"--qms-store={url}", "-p", "no:cacheprovider")
    store = open_store(url)
    try:
        found = _suspects(pytester, store)
        assert [(f.check, f.item) for f in found] == [(Check.SUSPECT_LINK, node)]
        assert f"moved to this test from {NODE}" in found[0].reason and "never reviewed" in found[0].reason
        assert found[0].text().startswith(f"{node}: REQ-001's verification")  # the node id once, not twice
        report = trace(load_project(pytester.path), store, use_cache=False)
        assert review_test(store, report.tests, node, "bob").changes  # recorded, though the source is as first run
        assert _suspects(pytester, store) == []
    finally:
        store.dispose()


def test_a_first_test_of_a_new_requirement_is_not_suspect(pytester: pytest.Pytester) -> None:
    """A requirement's first verifying test has nothing to have moved from: its first run is its baseline."""
    url = _device(pytester)
    _session(pytester, url, RENAMED_GUTTED)
    store = open_store(url)
    try:
        assert _suspects(pytester, store) == []
    finally:
        store.dispose()
