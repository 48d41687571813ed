"""The release plan is read with the one YAML reader: each error names the plan's file and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from qms.config import load_project
from qms.errors import ConfigError
from qms.release_plan import load_plan
from tests.traceability.trace_helpers import write_project

PLAN = """version: "1.0.0"
model: cxr-triage@1.0.0
protocols: [VAL-PERF-001]
signatures:
  author: [ann.author]
  reviewer: [rob.reviewer]
  approver: [ada.approver]
"""


@pytest.mark.parametrize(("plan", "line", "words"), [
    (PLAN.replace("protocols: [VAL-PERF-001]", "protocols: [VAL-PERF-001"), 3, "not valid YAML"),  # the [ left open on line 3
    (PLAN.replace("  reviewer:", "  auditor:"), 6, "unknown role(s) auditor"),
    (PLAN.replace("  approver: [ada.approver]", "  approver: [1, 2]"), 7, "signatures.approver must be a list"),
    (PLAN + "colour: blue\n", 8, "unknown key(s) colour"),
])
def test_plan_errors_name_file_and_line(tmp_path: Path, plan: str, line: int, words: str) -> None:
    """A syntax error, an unknown role, a bad signer list and an unknown key each name release-plan.yaml:line."""
    project = write_project(tmp_path, {})
    (tmp_path / "release-plan.yaml").write_text(plan, encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_plan(project)
    assert words in err.value.message and err.value.where == f"{tmp_path / 'release-plan.yaml'}:{line}"


def test_a_valid_plan_reads(tmp_path: Path) -> None:
    """A well-formed plan gives its version, model, protocols and signers."""
    write_project(tmp_path, {})
    (tmp_path / "release-plan.yaml").write_text(PLAN, encoding="utf-8")
    plan = load_plan(load_project(tmp_path))
    assert (plan.version, plan.model, plan.protocols) == ("1.0.0", "cxr-triage@1.0.0", ("VAL-PERF-001",))
    assert plan.signers["approver"] == ("ada.approver",)


@pytest.mark.parametrize("typed", ["1.10", "2", "1.0", "0x10"])
def test_a_version_yaml_reads_as_a_number_is_refused_with_the_quoted_form(tmp_path: Path, typed: str) -> None:
    """An unquoted version YAML reads as a number (1.10 -> 1.1) is refused at its file:line, asking to quote it as typed."""
    project = write_project(tmp_path, {})
    (tmp_path / "release-plan.yaml").write_text(PLAN.replace('version: "1.0.0"', f"version: {typed}"), encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_plan(project)
    assert err.value.where == f"{tmp_path / 'release-plan.yaml'}:1"
    assert f'quote it: version: "{typed}"' in (err.value.hint or "")


def test_the_schema_holds_a_release_version_to_text() -> None:
    """The release plan's JSON Schema (and so its reference page) takes a version only as text."""
    from qms.schemas import schema

    assert schema("release-plan")["properties"]["version"]["type"] == "string"
