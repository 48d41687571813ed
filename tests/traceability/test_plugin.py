"""The pytest plugin in real pytest sessions (pytester): markers, collection errors, recorded runs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.traceability.trace_helpers import NEED, git_commit, requirement, write_project
from qms.store import open_store
from qms.store.records import AuditEvent
from qms.traceability.records import TestResultRecord, TestRunRecord

TESTS = '''
import pytest

@pytest.mark.verifies("REQ-001")
def test_passes():
    """The thing is done."""

@pytest.mark.verifies("REQ-001", "REQ-002")
def test_fails():
    assert False

@pytest.mark.verifies("REQ-002")
@pytest.mark.skip(reason="not today")
def test_skipped():
    pass

@pytest.mark.verifies("REQ-002")
@pytest.mark.xfail(reason="known")
def test_xfails():
    assert False

def test_unlinked():
    pass
'''


@pytest.fixture
def device(pytester: pytest.Pytester) -> Path:
    write_project(pytester.path, {"n.yaml": NEED, "r.yaml": requirement("REQ-001", "NEED-001") + "---\n"
                                  + requirement("REQ-002", "NEED-001")})
    return pytester.path


def _store_url(root: Path) -> str:
    return f"sqlite:///{root / 'store.db'}"


def _runs(root: Path) -> list[TestRunRecord]:
    if not (root / "store.db").exists():
        return []
    store = open_store(_store_url(root))
    try:
        return store.all(TestRunRecord)
    finally:
        store.dispose()


def test_outside_a_device_project_the_plugin_only_registers_the_marker(pytester: pytest.Pytester) -> None:
    """In a plain project the marker passes --strict-markers, any id is accepted and nothing is recorded."""
    pytester.makepyfile('import pytest\n\n@pytest.mark.verifies("ANYTHING-1")\ndef test_x():\n    pass\n')
    result = pytester.runpytest("--strict-markers", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    assert not list(pytester.path.rglob("*.db"))


def test_an_unknown_id_fails_collection_naming_the_test_and_the_id(device: Path, pytester: pytest.Pytester) -> None:
    """A marker with a typo fails its module's collection, names test, file:line and id, suggests the fix, records nothing."""
    pytester.makepyfile(test_typo='import pytest\n\n@pytest.mark.verifies("REQ-0O1")\ndef test_typo():\n    pass\n')
    result = pytester.runpytest(f"--qms-store={_store_url(device)}", "-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.fnmatch_lines(["*test_typo.py::test_typo (test_typo.py:3): verifies unknown design item 'REQ-0O1'"
                                 " (did you mean REQ-001?)*"])
    assert _runs(device) == []


def test_a_test_cannot_verify_a_user_need(device: Path, pytester: pytest.Pytester) -> None:
    """Linking a test to a user need is refused at collection: tests verify requirements or risk controls."""
    pytester.makepyfile(test_need='import pytest\n\n@pytest.mark.verifies("NEED-001")\ndef test_n():\n    pass\n')
    result = pytester.runpytest(f"--qms-store={_store_url(device)}", "-p", "no:cacheprovider")
    result.stdout.fnmatch_lines(["*a test cannot verify NEED-001, a need*"])
    assert result.ret == pytest.ExitCode.INTERRUPTED


def test_a_session_records_outcomes_links_docstrings_and_environment(device: Path, pytester: pytest.Pytester) -> None:
    """After the session the run is in the store and the JSON report: outcomes, durations, links, docstring, commit, platform, packages."""
    pytester.makepyfile(test_device=TESTS)
    head = git_commit(device)
    report = device / "out" / "run.json"
    result = pytester.runpytest(f"--qms-store={_store_url(device)}", f"--qms-report={report}", "--qms-actor=ci.bot",
                                "-p", "no:cacheprovider")
    result.assert_outcomes(passed=2, failed=1, skipped=1, xfailed=1)
    result.stdout.fnmatch_lines(["qms: recorded test run * (5 tests, commit *, clean tree)"])
    data = json.loads(report.read_text())
    outcomes = {r["nodeid"].split("::")[1]: (r["outcome"], r["verifies"]) for r in data["results"]}
    assert outcomes == {"test_passes": ("passed", ["REQ-001"]), "test_fails": ("failed", ["REQ-001", "REQ-002"]),
                        "test_skipped": ("skipped", ["REQ-002"]), "test_xfails": ("xfailed", ["REQ-002"]),
                        "test_unlinked": ("passed", [])}
    assert data["commit"] == head and data["dirty"] is False and data["unlinked"] == ["test_device.py::test_unlinked"]
    assert "pytest" in data["packages"] and data["python"].startswith("3.") and data["platform"]
    assert all(isinstance(r["duration"], float) and r["duration"] >= 0 for r in data["results"])
    assert data["started_at"] <= data["finished_at"] and data["exit_status"] == int(pytest.ExitCode.TESTS_FAILED)
    assert next(r["docstring"] for r in data["results"] if r["nodeid"].endswith("test_passes")) == "The thing is done."
    store = open_store(_store_url(device))
    try:
        [run] = store.all(TestRunRecord)
        assert (run.id, run.report_digest, run.actor) == (data["run_id"], data["digest"], "ci.bot")
        assert len(store.all(TestResultRecord)) == 5
        assert [e.object for e in store.all(AuditEvent, AuditEvent.action == "test.run")] == [f"test-run:{run.id}"]
    finally:
        store.dispose()


def test_an_uncommitted_change_marks_the_run_dirty(device: Path, pytester: pytest.Pytester) -> None:
    """A run started with an uncommitted file in the tree is recorded as dirty."""
    pytester.makepyfile(test_device=TESTS)
    git_commit(device)
    pytester.makepyfile(test_new="def test_new():\n    pass\n")
    pytester.runpytest(f"--qms-store={_store_url(device)}", "-p", "no:cacheprovider")
    assert [r.dirty for r in _runs(device)] == [True]


def test_unreadable_design_items_stop_the_session(device: Path, pytester: pytest.Pytester) -> None:
    """When a design file cannot be read, the session stops with the file and line, and nothing is recorded."""
    (device / "design" / "bad.yaml").write_bytes(b"id: REQ-009\ntitle: \xff\n")
    pytester.makepyfile(test_device=TESTS)
    result = pytester.runpytest(f"--qms-store={_store_url(device)}", "-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*design/bad.yaml:2: not UTF-8 text*"])
    assert _runs(device) == []


def test_under_xdist_the_controller_records_every_worker_result(device: Path, pytester: pytest.Pytester) -> None:
    """With pytest-xdist (-n 2) the run holds every test with its links, recorded once."""
    pytester.makepyfile(test_device=TESTS)
    git_commit(device)
    report = device / "run.json"
    result = pytester.runpytest_subprocess("-n", "2", f"--qms-store={_store_url(device)}", f"--qms-report={report}",
                                           "-p", "no:cacheprovider")
    result.assert_outcomes(passed=2, failed=1, skipped=1, xfailed=1)
    data = json.loads(report.read_text())
    assert sorted(len(r["verifies"]) for r in data["results"]) == [0, 1, 1, 1, 2]
    assert len(_runs(device)) == 1


def test_a_lower_case_id_suggests_the_same_id_in_capitals(device: Path, pytester: pytest.Pytester) -> None:
    """A marker naming `req-001` suggests REQ-001, never a differently spelled id."""
    pytester.makepyfile(test_case='import pytest\n\n@pytest.mark.verifies("req-001")\ndef test_c():\n    pass\n')
    result = pytester.runpytest(f"--qms-store={_store_url(device)}", "-p", "no:cacheprovider")
    result.stdout.fnmatch_lines(["*verifies unknown design item 'req-001' (did you mean REQ-001?)*"])


def test_a_recorded_run_is_witnessed_by_a_signed_checkpoint(device: Path, pytester: pytest.Pytester) -> None:
    """Run by pytest itself (as `make test` and CI run it), the plugin seals the run it records with the checkpoint key
    in QMS_HOME, as a `qms` command seals when it ends: the gate's coverage finds the `test.run` event witnessed."""
    import os

    from qms import checkpoint, checkpoint_log
    from qms.config import load_project
    from qms.gate import coverage

    pytester.makepyfile(test_device=TESTS)
    git_commit(device)
    pytester.runpytest(f"--qms-store={_store_url(device)}", "-p", "no:cacheprovider")
    trusted = checkpoint_log.trusted_key(Path(os.environ["QMS_HOME"]) / checkpoint.KEY_FILE)
    store = open_store(_store_url(device))
    try:
        found = coverage.check(store, load_project(device).records_dir, trusted).findings
        runs = [e for e in store.all(AuditEvent) if e.action == "test.run"]
    finally:
        store.dispose()
    assert trusted is not None and len(runs) == 1
    assert not [f for f in found if "witnessed" in f.reason], found
