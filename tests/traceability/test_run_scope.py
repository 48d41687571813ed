"""A run with no tests, and a partial run, say what they are in the trace (real pytest sessions, pytester)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from qms.cli.main import app
from qms.config import load_project
from qms.store import open_store
from qms.traceability import Check, Status, TraceReport, trace
from qms.traceability.runs import newest_run_scope
from tests.traceability.test_gone_tests import BEFORE
from tests.traceability.trace_helpers import NEED, git_commit, requirement, write_project


def _project(root: Path) -> str:
    write_project(root, {"n.yaml": NEED, "r.yaml": requirement("REQ-001", "NEED-001") + "---\n"
                         + requirement("REQ-002", "NEED-001")})
    return f"sqlite:///{root / 'store.db'}"


def _run(pytester: pytest.Pytester, url: str, *args: str) -> pytest.RunResult:
    return pytester.runpytest(f"--qms-store={url}", "-p", "no:cacheprovider", *args)


def _tested_once(pytester: pytest.Pytester) -> tuple[Path, str]:
    """A committed project whose two tests passed in one recorded run: (its root, its store's URL)."""
    root = pytester.path
    url = _project(root)
    pytester.makepyfile(test_device=BEFORE)
    git_commit(root)
    _run(pytester, url).assert_outcomes(passed=2)
    return root, url


def _trace(root: Path, url: str) -> TraceReport:
    store = open_store(url)
    try:
        return trace(load_project(root), store, use_cache=False)
    finally:
        store.dispose()


def test_a_run_that_collects_no_test_is_recorded_and_leaves_requirements_untested(pytester: pytest.Pytester) -> None:
    """After the test file is deleted, a run collecting nothing is recorded, and each requirement has no test (no loop)."""
    root, url = _tested_once(pytester)
    (root / "test_device.py").unlink()
    git_commit(root)
    result = _run(pytester, url)
    assert result.ret == pytest.ExitCode.NO_TESTS_COLLECTED
    result.stdout.fnmatch_lines(["qms: recorded test run * (0 tests, commit *, clean tree)"])
    report = _trace(root, url)
    assert report.tests == {}
    assert {i: r.own for i, r in report.rows.items() if i.startswith("REQ")} == {
        "REQ-001": Status.UNTESTED, "REQ-002": Status.UNTESTED}
    about_tests = {Check.NO_TEST, Check.NOT_AT_HEAD, Check.ORPHAN_TEST, Check.UNLINKED_TEST}
    gaps = [g for g in report.gaps if g.check in about_tests]
    assert [(g.check, g.item) for g in gaps] == [(Check.NO_TEST, "REQ-001"), (Check.NO_TEST, "REQ-002")]
    assert all("partial" not in g.reason and "add a test" in g.hint for g in gaps)


def test_a_deselected_test_still_exists_after_a_partial_run(pytester: pytest.Pytester) -> None:
    """A test deselected with -k keeps its older result (not run at HEAD) instead of leaving its requirement untested."""
    root, url = _tested_once(pytester)
    (root / "notes.txt").write_text("a new commit\n", encoding="utf-8")
    git_commit(root)
    result = _run(pytester, url, "-k", "threshold")
    result.assert_outcomes(passed=1, deselected=1)
    result.stdout.fnmatch_lines(["qms: recorded test run * (1 of 2 tests (a partial run), commit *"])
    report = _trace(root, url)
    assert report.rows["REQ-001"].own is Status.VERIFIED and report.rows["REQ-002"].own is Status.STALE
    assert [g.item for g in report.gaps if g.check == Check.NO_TEST] == []


def test_a_requirement_whose_test_was_deselected_says_the_last_run_was_partial(pytester: pytest.Pytester) -> None:
    """When HEAD's last run was partial, a requirement with no result says so and hints to run the whole suite."""
    root = pytester.path
    url = _project(root)
    pytester.makepyfile(test_device=BEFORE)
    git_commit(root)
    _run(pytester, url, "-k", "threshold").assert_outcomes(passed=1, deselected=1)
    store = open_store(url)
    try:
        scope = newest_run_scope(store, load_project(root).config.device, _trace(root, url).head)
    finally:
        store.dispose()
    assert scope is not None and (scope.ran, scope.collected, scope.partial) == (1, 2, True)
    gaps = [g for g in _trace(root, url).gaps if g.check == Check.NO_TEST]
    assert [g.item for g in gaps] == ["REQ-002"]
    assert "partial: it ran 1 of the 2 tests" in gaps[0].reason and "whole suite" in gaps[0].hint
    _run(pytester, url).assert_outcomes(passed=2)
    assert [g for g in _trace(root, url).gaps if g.check == Check.NO_TEST] == []


@pytest.mark.parametrize("folder", [True, False], ids=["empty-tests-folder", "no-tests-folder"])
def test_qms_test_with_no_tests_says_so_and_exits_1(project_dir: Path, folder: bool) -> None:
    """`qms test` with no test (an empty or deleted tests folder) prints a qms message, records the empty run and
    exits 1, not 2; the trace then says no test verifies the requirement instead of asking to run the tests."""
    write_project(project_dir, {"n.yaml": NEED, "r.yaml": requirement("REQ-001", "NEED-001")})
    if folder:
        (project_dir / "tests").mkdir()
    runner = CliRunner()
    assert runner.invoke(app, ["-C", str(project_dir), "store", "migrate"]).exit_code == 0
    git_commit(project_dir)
    result = runner.invoke(app, ["-C", str(project_dir), "test", "--", "-q", "-p", "no:cacheprovider"])
    assert result.exit_code == 1, result.output
    assert "pytest ran no test" in result.output and "hint: add tests under tests/" in result.output
    traced = runner.invoke(app, ["-C", str(project_dir), "trace"])
    assert "no test verifies this requirement" in traced.output and "has no result at HEAD" not in traced.output
