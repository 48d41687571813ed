"""The pytest plugin: `@pytest.mark.verifies("REQ-012", "RC-003")` and a recorded test run.

It loads in every pytest session (a `pytest11` entry point) but only registers the
`verifies` marker unless the session is a device project's: the rootdir holds a
qms.toml or a pyproject.toml with [tool.qms], or `--qms-project DIR` names one. Then an
unknown id fails collection of the test's module, naming the test and the id, and after
the session the run is recorded in the store (and as JSON with --qms-report FILE).

Like the CLI, this is an edge of the system: it alone reads QMS_DATABASE_URL and QMS_USER
(when no --qms-store / --qms-actor is given). Under pytest-xdist the workers check the
markers and attach each test's links to its reports (`user_properties`); the controller,
which sees every report, records the run. Per-item and per-session data live in stash keys.
"""

from __future__ import annotations

import difflib
import getpass
import importlib.metadata
import inspect
import json
import os
import platform
import sys
import tomllib
from collections.abc import Generator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from qms.config import Project
    from qms.traceability.design import Design
    from qms.traceability.gitstate import GitState
    from qms.traceability.runs import Outcome, TestRun

__all__ = ["MARKER", "pytest_addoption", "pytest_configure"]

MARKER = "verifies"
_VERIFIES_PROPERTY = "qms.verifies"
_DOC_PROPERTY = "qms.docstring"
_SOURCE_PROPERTY = "qms.source"


@dataclass
class _Session:
    project: Project
    design: Design
    git: GitState | None = None
    started_at: str = ""
    phases: dict[str, dict[str, pytest.TestReport]] = field(default_factory=dict)
    run_id: str | None = None
    collect_errors: int = 0
    collected: tuple[str, ...] = ()
    deselected: list[str] = field(default_factory=list)


_SESSION = pytest.StashKey[_Session]()
_VERIFIES = pytest.StashKey[tuple[str, ...]]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("qms", "qmskit design traceability")
    group.addoption("--qms-project", metavar="DIR", help="the device project (default: the rootdir, if it is one)")
    group.addoption("--qms-report", metavar="FILE", help="also write the test run as JSON to FILE")
    group.addoption("--qms-store", metavar="URL", help="record store URL (default: QMS_DATABASE_URL or the project's)")
    group.addoption("--qms-actor", metavar="NAME", help="who ran the tests (default: QMS_USER or the login)")
    group.addoption("--qms-no-record", action="store_true", help="check the markers but record nothing")


def _is_device_project(root: Path) -> bool:
    if (root / "qms.toml").is_file():
        return True
    pyproject = root / "pyproject.toml"
    if not pyproject.is_file():
        return False
    try:
        return "qms" in tomllib.loads(pyproject.read_text(encoding="utf-8")).get("tool", {})
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return False


def _controller(config: pytest.Config) -> bool:
    return not hasattr(config, "workerinput")


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", f"{MARKER}(*ids): the design items (requirements, risk controls) this test verifies")
    named = config.getoption("qms_project")
    root = Path(named) if named else config.rootpath
    if not named and not _is_device_project(root):
        return
    from qms.config import load_project
    from qms.errors import QmsError
    from qms.traceability.design import load_project_design

    try:
        project = load_project(root)
        design = load_project_design(project)
    except QmsError as exc:
        raise pytest.UsageError(f"qms: {exc.diagnostics()}") from None
    if design.unreadable:
        lines = "\n".join(f.text() for f in design.unreadable)
        raise pytest.UsageError(f"qms: design items cannot be read, so test links cannot be checked:\n{lines}")
    state = _Session(project, design)
    config.stash[_SESSION] = state
    config.pluginmanager.register(_Recorder(config, state), "qms-recorder")


def _link_errors(item: pytest.Item, design: Design) -> list[str]:
    from qms.traceability.items import VERIFIABLE

    where = f"{item.nodeid} ({item.location[0]}:{(item.location[1] or 0) + 1})"
    errors, ids = [], []
    for mark in item.iter_markers(MARKER):
        if not mark.args:
            errors.append(f"{where}: @pytest.mark.verifies names no design item")
        for arg in mark.args:
            if not isinstance(arg, str):
                errors.append(f"{where}: verifies takes item ids as text, found {arg!r}")
                continue
            ids.append(arg)
            target = design.items.get(arg)
            if target is None:
                upper = {i.upper(): i for i in design.items}  # `req-001` means REQ-001, not the nearer-spelled RC-001
                close = difflib.get_close_matches(arg.upper(), list(upper), n=1)
                hint = f" (did you mean {upper[close[0]]}?)" if close else ""
                errors.append(f"{where}: verifies unknown design item {arg!r}{hint}")
            elif target.type not in VERIFIABLE:
                errors.append(f"{where}: a test cannot verify {arg}, a {target.type.value}; "
                              "link the requirements or risk controls under it")
    item.stash[_VERIFIES] = tuple(dict.fromkeys(ids))
    return errors


def _outcome(phases: dict[str, pytest.TestReport]) -> Outcome:
    from qms.traceability.runs import Outcome

    setup, call, teardown = (phases.get(p) for p in ("setup", "call", "teardown"))
    if (setup is not None and setup.failed) or (teardown is not None and teardown.failed):
        return Outcome.ERROR
    for report in (call, setup):
        if report is None:
            continue
        xfail = hasattr(report, "wasxfail")
        if report.skipped:
            return Outcome.XFAILED if xfail else Outcome.SKIPPED
        if report.failed:
            return Outcome.FAILED
        if report.when == "call":
            return Outcome.XPASSED if xfail else Outcome.PASSED
    return Outcome.ERROR


def _packages() -> dict[str, str]:
    found: dict[str, str] = {}
    for dist in importlib.metadata.distributions():
        metadata = dist.metadata  # parsed once: `dist.version` would parse it again
        name = metadata["Name"]
        if name:
            found[str(name).lower()] = metadata["Version"]
    return dict(sorted(found.items()))


def _property(report: pytest.TestReport, name: str, default: Any) -> Any:
    return next((value for key, value in report.user_properties if key == name), default)


class _Recorder:
    """The hooks of an active session; one instance per session, registered at configure."""

    def __init__(self, config: pytest.Config, state: _Session) -> None:
        self.config = config
        self.state = state

    def pytest_sessionstart(self, session: pytest.Session) -> None:
        if _controller(self.config):
            from qms.traceability.gitstate import git_state

            self.state.git = git_state(self.state.project.root, (self.state.project.records_dir,))
            self.state.started_at = _now()

    @pytest.hookimpl(wrapper=True)
    def pytest_make_collect_report(self, collector: pytest.Collector) -> Generator[None, pytest.CollectReport, pytest.CollectReport]:
        report = yield
        if report.outcome != "passed":
            return report
        errors: list[str] = []
        for node in report.result:
            if isinstance(node, pytest.Item):
                errors.extend(_link_errors(node, self.state.design))
                doc = inspect.getdoc(node.obj) if isinstance(node, pytest.Function) else None
                linked: tuple[str, ...] = node.stash[_VERIFIES]
                node.user_properties.append((_VERIFIES_PROPERTY, list(linked)))
                node.user_properties.append((_DOC_PROPERTY, doc or ""))
                if isinstance(node, pytest.Function):
                    from qms.traceability.testsource import source_fingerprint

                    node.user_properties.append((_SOURCE_PROPERTY, source_fingerprint(node.obj)))
        if errors:
            report.outcome = "failed"
            report.longrepr = "qms: " + "\n".join(errors) + "\nhint: fix the id in the marker, or add the design item"
            report.result = []
        return report

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            self.state.collect_errors += 1

    def pytest_deselected(self, items: list[pytest.Item]) -> None:
        self.state.deselected.extend(item.nodeid for item in items)

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        # which tests exist now: a renamed or deleted test drops out of the trace (under
        # xdist the controller collects nothing, and the results say which tests ran);
        # a test deselected (-k, -m) still exists, so a partial run keeps it
        self.state.collected = tuple(dict.fromkeys((*(item.nodeid for item in session.items), *self.state.deselected)))

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        self.state.phases.setdefault(report.nodeid, {})[report.when] = report

    def _run(self, exit_status: int) -> TestRun:
        from qms.traceability.runs import TestResult, TestRun

        results = []
        for nodeid, phases in self.state.phases.items():
            first = next(iter(phases.values()))
            results.append(TestResult(
                nodeid, _outcome(phases), sum(r.duration for r in phases.values()),
                tuple(_property(first, _VERIFIES_PROPERTY, [])), str(_property(first, _DOC_PROPERTY, "")),
                _property(first, _SOURCE_PROPERTY, None),
            ))
        git = self.state.git
        return TestRun(
            device=self.state.project.config.device, commit=git.commit if git else None,
            dirty=git.dirty if git else True, started_at=self.state.started_at, finished_at=_now(),
            python=sys.version.split()[0] + f" ({platform.python_implementation()})", platform=platform.platform(),
            packages=_packages(), exit_status=exit_status, results=tuple(results),
            unlinked=tuple(r.nodeid for r in results if not r.verifies), collected=self.state.collected,
        )

    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        # Only a completed session is evidence: an interrupted one, a collection error
        # (an unknown id) or --collect-only records nothing. A session that collected no
        # test (its test files deleted) is recorded: it says that no test exists now.
        if (not _controller(self.config) or self.config.option.collectonly or self.state.collect_errors
                or int(exitstatus) not in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED,
                                           pytest.ExitCode.NO_TESTS_COLLECTED)):
            return
        from qms import atomic, checkpoint_log
        from qms.errors import QmsError
        from qms.home import qms_home
        from qms.store import open_store
        from qms.traceability.runs import record_run

        run = self._run(int(exitstatus))
        report = self.config.getoption("qms_report")
        if not self.config.getoption("qms_no_record"):
            url = self.config.getoption("qms_store") or self.state.project.database_url(os.environ.get("QMS_DATABASE_URL"))
            actor = self.config.getoption("qms_actor") or os.environ.get("QMS_USER") or getpass.getuser()
            store = open_store(url)
            try:
                # sealed as a `qms` command seals when it ends: the gate refuses a run no signed checkpoint witnesses
                checkpoint_log.attach(store, qms_home(), self.state.project.records_dir)
                self.state.run_id = record_run(store, run, actor)
                try:
                    checkpoint_log.after_recording(store)
                except QmsError as exc:
                    sys.stderr.write(f"qms: the test run is witnessed by no signed checkpoint: {exc.message}\n")
            finally:
                store.dispose()
        if report:
            data = {"run_id": self.state.run_id, "digest": run.digest, **run.to_json()}
            atomic.write_text(Path(report), json.dumps(data, indent=2, sort_keys=True) + "\n")

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.state.run_id is None or not _controller(self.config):
            return
        git = self.state.git
        where = "no git commit" if git is None or git.commit is None else f"commit {git.commit[:12]}"
        tree = "dirty tree" if git is None or git.dirty else "clean tree"
        ran, collected = len(self.state.phases), len(self.state.collected)
        tests = f"{ran} tests" if ran >= collected else f"{ran} of {collected} tests (a partial run)"
        terminalreporter.write_line(f"qms: recorded test run {self.state.run_id} ({tests}, {where}, {tree})")
