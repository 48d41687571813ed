"""The gate's tool-validation criterion: required by the release plan, met by a current signed record, refused when stale."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from qms.config import load_project
from qms.errors import ConfigError
from qms.gate.checks.tool_validation import ToolValidated
from qms.gate.context import GateContext
from qms.release_plan import load_plan
from qms.signing import Signatory
from qms.signing.pdf import sign_pdf
from qms.store import Store
from qms.tool_validation import Environment, current_environment, record_validation
from tests.signing.orgkit import Org, make_org, passphrase, render_pdfa

pytestmark = pytest.mark.verifies("QMS-REQ-009", "QMS-RC-006")

_PLAN = ("version: 1.0.0\nmodel: m@1.0\nsignatures: {author: [alice], reviewer: [bob], approver: [carol]}\n"
         "tool_validation: REQUIRED\n")


def _context(tmp_path: Path, store: Store, required: str = "required") -> GateContext:
    root = tmp_path / "proj"
    root.mkdir(exist_ok=True)
    (root / "qms.toml").write_text('[tool.qms]\ndevice = "D"\nintended_use = "u"\nsafety_class = "B"\n')
    (root / "release-plan.yaml").write_text(_PLAN.replace("REQUIRED", required))
    project = load_project(root)
    return GateContext(project, store, load_plan(project))


def _validated(org: Org, env: Environment, passed: bool = True) -> None:
    """A tool validation of `env`, its report signed by alice (a real PAdES signature and its record)."""
    signed, sig = sign_pdf(org.store, org.home, Signatory("alice", passphrase("alice")),
                           render_pdfa("<p>tool validation</p>"), "authored", f"tool-validation:qmskit@{env.qmskit}")
    record_validation(org.store, env, passed, [{"id": "oq-statistics", "passed": passed}], sig.output_sha256 or "",
                      sig.id, "alice")


@pytest.fixture
def org(store: Store, tmp_path: Path) -> Org:
    return make_org(store, tmp_path / "home")


def test_a_current_passing_signed_record_meets_the_plan(org: Org, tmp_path: Path) -> None:
    """A signed, passing tool validation of this very environment satisfies `tool_validation: required`."""
    _validated(org, current_environment())
    outcome = ToolValidated().evaluate(_context(tmp_path, org.store))
    assert outcome.passed and outcome.examined == 1


def test_the_gate_refuses_a_stale_record_naming_what_changed(org: Org, tmp_path: Path) -> None:
    """After a dependency upgrade the record is stale: a finding naming the package and both versions."""
    then = current_environment()
    _validated(org, then)
    now = replace(then, packages={**then.packages, "pydicom": "99.0.0"})
    outcome = ToolValidated(now).evaluate(_context(tmp_path, org.store))
    assert not outcome.passed
    (finding,) = outcome.findings
    assert finding.item == f"qmskit@{now.qmskit}" and "stale" in finding.reason
    assert f"pydicom {then.packages['pydicom']} -> 99.0.0" in finding.reason and "qms selftest" in finding.hint


def test_a_qmskit_upgrade_makes_the_record_stale(org: Org, tmp_path: Path) -> None:
    """A record of another qmskit version does not hold for this one, and the finding says so."""
    now = current_environment()
    _validated(org, replace(now, qmskit="0.0.9"))
    (finding,) = ToolValidated(now).evaluate(_context(tmp_path, org.store)).findings
    assert f"qmskit 0.0.9 -> {now.qmskit}" in finding.reason


def test_no_record_or_a_failed_one_fails_the_criterion(org: Org, tmp_path: Path) -> None:
    """With no record the criterion fails; then the newest run in this environment failing fails it too."""
    ctx = _context(tmp_path, org.store)
    assert "no tool validation record" in ToolValidated().evaluate(ctx).findings[0].reason
    _validated(org, current_environment())
    _validated(org, current_environment(), passed=False)
    assert "failed" in ToolValidated().evaluate(ctx).findings[0].reason


def test_a_plan_that_does_not_require_it_is_not_judged(org: Org, tmp_path: Path) -> None:
    """`tool_validation: optional` (the default) examines nothing and passes without a record."""
    outcome = ToolValidated().evaluate(_context(tmp_path, org.store, "optional"))
    assert outcome.passed and outcome.examined == 0


def test_a_bad_value_is_a_usage_error_naming_the_line(store: Store, tmp_path: Path) -> None:
    """`tool_validation: maybe` is refused, naming the release plan's line and the allowed values."""
    with pytest.raises(ConfigError) as caught:
        _context(tmp_path, store, "maybe")
    assert caught.value.where is not None and caught.value.where.endswith("release-plan.yaml:4")
    assert "required or optional" in caught.value.message
