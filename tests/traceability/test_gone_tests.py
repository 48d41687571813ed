"""A test run says which tests exist: renamed or deleted tests leave the trace (real pytest sessions, pytester)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.traceability.trace_helpers import NEED, git_commit, requirement, write_project
from qms.config import load_project
from qms.findings import Finding
from qms.store import open_store
from qms.traceability import Check, Status, trace

BEFORE = '''
import pytest

@pytest.mark.verifies("REQ-001")
def test_threshold():
    pass

@pytest.mark.verifies("REQ-002")
def test_only_one():
    pass
'''

AFTER = '''
import pytest

@pytest.mark.verifies("REQ-001")
def test_threshold_renamed():
    pass
'''


def _run(pytester: pytest.Pytester, url: str, *args: str) -> None:
    pytester.runpytest(f"--qms-store={url}", "-p", "no:cacheprovider", *args)


def _first_run(pytester: pytest.Pytester) -> tuple[Path, str]:
    """A project with two requirements whose tests (BEFORE) ran once, committed: its root and store URL."""
    root = pytester.path
    write_project(root, {"n.yaml": NEED, "r.yaml": requirement("REQ-001", "NEED-001") + "---\n"
                         + requirement("REQ-002", "NEED-001")})
    url = f"sqlite:///{root / 'store.db'}"
    pytester.makepyfile(test_device=BEFORE)
    git_commit(root)
    _run(pytester, url)
    return root, url


def _gaps(root: Path, url: str) -> tuple[dict[str, Status], list[Finding], set[str]]:
    store = open_store(url)
    try:
        report = trace(load_project(root), store, use_cache=False)
    finally:
        store.dispose()
    return {i: r.own for i, r in report.rows.items()}, list(report.gaps), set(report.tests)


def test_a_renamed_or_deleted_test_leaves_the_trace_once_head_is_run(pytester: pytest.Pytester) -> None:
    """After a clean run of HEAD, a test it did not collect is gone: no stale gap, and its requirement has no test."""
    root, url = _first_run(pytester)
    pytester.makepyfile(test_device=AFTER)
    git_commit(root)
    _run(pytester, url)
    status, gaps, tests = _gaps(root, url)
    assert status["REQ-001"] is Status.VERIFIED and status["REQ-002"] is Status.UNTESTED
    assert tests == {"test_device.py::test_threshold_renamed"}
    about_tests = {Check.NO_TEST, Check.NOT_AT_HEAD, Check.ORPHAN_TEST, Check.UNLINKED_TEST}
    assert [(g.check, g.item) for g in gaps if g.check in about_tests] == [(Check.NO_TEST, "REQ-002")]


def test_a_collected_test_that_did_not_run_stays_as_not_run_at_head(pytester: pytest.Pytester) -> None:
    """A test the run collected but never reached (-x after a failure) keeps its older result, shown as not run at HEAD."""
    root, url = _first_run(pytester)
    pytester.makepyfile(test_device=BEFORE.replace("def test_threshold():\n    pass", "def test_threshold():\n    assert False"))
    git_commit(root)
    _run(pytester, url, "-x")
    status, gaps, tests = _gaps(root, url)
    assert tests == {"test_device.py::test_threshold", "test_device.py::test_only_one"}
    assert status["REQ-001"] is Status.FAILED and status["REQ-002"] is Status.STALE
    assert any(g.check == Check.NOT_AT_HEAD and g.item == "REQ-002" for g in gaps)
