"""The gate's trace checks on the example's real design items: failing tests, suspect links and dirty trees fail it."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from qms.config import Project, load_project
from qms.findings import Finding
from qms.gate.checks.trace import CRITERION_OF, DesignWellFormed, HazardsControlled, RequirementsVerified, criterion_of
from qms.gate.context import GateContext
from qms.release_plan import load_plan
from qms.store import Store, open_store
from qms.traceability import Check
from qms.traceability.design import load_project_design
from qms.traceability.items import NEEDS_TEST
from qms.traceability.runs import Outcome, TestResult, TestRun, record_run

pytestmark = pytest.mark.verifies("QMS-REQ-001")

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "cxr-triage"
KEEP = ("qms.toml", "release-plan.yaml", "soup.yaml", "design", "docs")


def _git(root: Path, *args: str) -> str:
    return subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", *args], cwd=root,
                          check=True, capture_output=True, text=True).stdout.strip()


@pytest.fixture
def project(tmp_path: Path) -> Project:
    root = tmp_path / "proj"
    root.mkdir()
    for name in KEEP:
        src = EXAMPLE / name
        (shutil.copytree if src.is_dir() else shutil.copy)(src, root / name)
    (root / ".gitignore").write_text(".qms/\n")
    _git(root, "init", "-q")
    _git(root, "add", "-A")
    _git(root, "commit", "-q", "-m", "design")
    return load_project(root)


@pytest.fixture
def store(project: Project) -> Store:
    return open_store(project.database_url())


def _record(project: Project, store: Store, failing: set[str] = frozenset()) -> list[str]:  # type: ignore[assignment]
    design = load_project_design(project, use_cache=False)
    ids = sorted(i.id for i in design.items.values() if i.type in NEEDS_TEST)
    results = tuple(TestResult(f"tests/test_x.py::test_{i}", Outcome.FAILED if i in failing else Outcome.PASSED, 0.01, (i,),
                               f"Verifies {i}.") for i in ids)
    run = TestRun(project.config.device, _git(project.root, "rev-parse", "HEAD"), False, "2026-12-01T00:00:00Z",
                  "2026-12-01T00:00:01Z", "3.11", "linux", {}, 0, results)
    record_run(store, run, "test.engineer")
    return ids


def _ctx(project: Project, store: Store) -> GateContext:
    return GateContext(load_project(project.root), store, load_plan(project))


def test_all_verified_passes_trace_checks(project: Project, store: Store) -> None:
    """With every requirement and risk control passing at HEAD on a clean tree, checks 1-3 pass."""
    _record(project, store)
    ctx = _ctx(project, store)
    for check in (DesignWellFormed(), RequirementsVerified(), HazardsControlled()):
        outcome = check.evaluate(ctx)
        assert outcome.passed, (check.name, outcome.findings)
        assert outcome.examined > 0


def test_failing_test_fails_verification(project: Project, store: Store) -> None:
    """A failing test of one requirement is a verification finding naming that requirement."""
    ids = _record(project, store)
    target = next(i for i in ids if i.startswith("REQ"))
    _record(project, store, failing={target})
    outcome = RequirementsVerified().evaluate(_ctx(project, store))
    assert target in {f.item for f in outcome.findings}


def test_suspect_link_fails_design(project: Project, store: Store) -> None:
    """Changing a parent item's text makes its child links suspect: a design finding names the child."""
    _record(project, store)
    needs = project.root / "design" / "needs.yaml"
    text = needs.read_text()
    needs.write_text(text.replace("  pneumothorax to be flagged", "  pneumothorax to be flagged at once", 1))
    _git(project.root, "commit", "-qam", "change a need")
    outcome = DesignWellFormed().evaluate(_ctx(project, store))
    assert any("NEED-001 changed since the link was reviewed" in f.reason for f in outcome.findings), outcome.findings


def test_dirty_tree_fails_verification(project: Project, store: Store) -> None:
    """An uncommitted change is a verification finding: a release is of a commit."""
    _record(project, store)
    (project.root / "notes.txt").write_text("uncommitted")
    outcome = RequirementsVerified().evaluate(_ctx(project, store))
    assert any("uncommitted" in f.reason for f in outcome.findings)


def test_every_traceability_check_has_a_gate_criterion() -> None:
    """Every traceability check files its gaps under one of the gate's trace criteria, by the check itself."""
    names = {DesignWellFormed.name, RequirementsVerified.name, HazardsControlled.name}
    assert set(CRITERION_OF) == set(Check) and set(CRITERION_OF.values()) <= names
    assert criterion_of(Finding(Check.SUSPECT_LINK, "REQ-001", "suspect", "review")) == DesignWellFormed.name
    assert criterion_of(Finding(Check.RESIDUAL_RISK, "HAZ-001", "too high", "control")) == HazardsControlled.name


def test_a_check_without_a_criterion_fails_closed() -> None:
    """A gap whose check the gate does not know is refused, never filed under verification."""
    with pytest.raises(LookupError, match="belongs to no gate criterion"):
        criterion_of(Finding("a_new_check", "REQ-001", "new", "hint"))


def test_gates_ignore_a_forged_trace_cache(project: Project, store: Store, tmp_path: Path) -> None:
    """A cached trace report rewritten without its gaps (same key: anyone who writes the records folder can) but not
    under QMS_HOME's evidence cache key is rebuilt by `qms verify`'s cached trace; a release's gate builds it afresh."""
    import dataclasses

    from qms.traceability import matrix
    from qms.traceability.cache import REPORT_NAME

    ids = _record(project, store)
    target = next(i for i in ids if i.startswith("REQ"))
    _record(project, store, failing={target})
    real = matrix.trace(project, store)
    assert target in {g.item for g in real.gaps}
    forged: list[object] = []
    write = matrix.write_report
    matrix.write_report = lambda path, key, report, mac_key: forged.append(
        write(path, key, dataclasses.replace(report, gaps=()), None))
    try:
        (project.records_dir / "cache" / REPORT_NAME).unlink()
        matrix.trace(project, store)
    finally:
        matrix.write_report = write
    assert forged and target not in {g.item for g in matrix.trace(project, store).gaps}  # read where no key is asked
    (tmp_path / "home").mkdir()
    verify = GateContext(load_project(project.root), store, load_plan(project), identity_dir=tmp_path / "home",
                         stat_cache=True)
    assert target in {f.item for f in RequirementsVerified().evaluate(verify).findings}
    outcome = RequirementsVerified().evaluate(_ctx(project, store))
    assert target in {f.item for f in outcome.findings}
