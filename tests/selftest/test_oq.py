"""Operational qualification: the shipped checks pass here, a failing check fails the command and shows in the report."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from qms.cli.main import app
from qms.selftest.checks import Phase, Settings
from qms.selftest.oq_records import check_records
from qms.selftest.report import render_html
from qms.selftest.suite import SUITE, run_selftest

pytestmark = pytest.mark.verifies("QMS-REQ-011", "QMS-RC-006")

_BAD_STORE = "postgresql+psycopg://nobody@127.0.0.1:1/none"


def test_every_oq_check_passes_in_this_environment() -> None:
    """Each OQ check shipped in the package passes here, names the requirement it verifies, and says what it saw."""
    result = run_selftest(Settings(), [c for c in SUITE if c.phase is Phase.OQ])
    assert [(r.id, r.findings) for r in result.results if not r.passed] == []
    assert all(r.verifies and all(v.startswith("QMS-REQ-") for v in r.verifies) and r.evidence for r in result.results)
    assert result.passed


def test_the_record_round_trip_runs_on_the_users_backend(store_url: str, tmp_path: Path) -> None:
    """The records check runs on a scratch store of the user's backend (SQLite or PostgreSQL) and passes there."""
    findings, evidence = check_records("oq-records", store_url, tmp_path)
    assert findings == []
    assert evidence["backend"] == ("sqlite" if store_url.startswith("sqlite") else "postgresql")


def test_a_failing_oq_check_fails_the_command_and_shows_in_the_report(tmp_path: Path) -> None:
    """With an unreachable store the records check fails: exit 1, the JSON and the report show it failed, the rest ran."""
    root = tmp_path / "proj"
    root.mkdir()
    (root / "qms.toml").write_text('[tool.qms]\ndevice = "D"\nintended_use = "u"\nsafety_class = "B"\n'
                                   f'database_url = "{_BAD_STORE}"\n')
    report = tmp_path / "report.pdf"
    result = CliRunner().invoke(app, ["-C", str(root), "selftest", "--check", "oq-records", "--check", "oq-statistics",
                                      "--report", str(report), "--json"])
    assert result.exit_code == 1, result.output
    data = json.loads(result.stdout)
    assert data["verdict"] == "fail"
    assert {c["id"]: c["passed"] for c in data["checks"]} == {"oq-records": False, "oq-statistics": True}
    assert report.read_bytes().startswith(b"%PDF")
    failed = run_selftest(Settings(_BAD_STORE), [c for c in SUITE if c.id == "oq-records"])
    html = render_html(failed, "Org", "someone", "postgresql")
    assert "oq-records" in html and ">failed<" in html and "Verdict: <span class=\"fail\">fail" in html


def test_an_unknown_check_is_a_usage_error() -> None:
    """`--check` with an id the suite does not have exits 2 and lists the checks."""
    result = CliRunner().invoke(app, ["selftest", "--check", "oq-nothing"])
    assert result.exit_code == 2 and "oq-statistics" in result.output


@pytest.mark.slow
def test_a_signed_selftest_is_the_record_the_gate_requires(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`qms selftest --sign-as` signs the PDF/A report, records it, and `qms verify` then finds the tool validated."""
    from qms.signing import Role, add_user, init_ca
    from qms.signing.pdf import verify_pdf
    from qms.signing.trust import Trust
    from qms.store import open_store

    root, home = tmp_path / "proj", Path(os.environ["QMS_HOME"])
    root.mkdir()
    (root / "qms.toml").write_text('[tool.qms]\ndevice = "D"\nintended_use = "u"\nsafety_class = "B"\n')
    (root / "release-plan.yaml").write_text("version: 1.0.0\nmodel: m@1.0\ntool_validation: required\n"
                                            "signatures: {author: [ci], reviewer: [ci], approver: [ci]}\n")
    store = open_store(f"sqlite:///{root / '.qms' / 'qms.db'}")
    init_ca(home, "Example Ltd (synthetic)", "ca-passphrase-1")
    add_user(store, home, "ci", "CI pipeline", Role.SERVICE, "ci-passphrase", "ca-passphrase-1", actor="admin")
    monkeypatch.setenv("QMS_SIGNING_PASSPHRASE", "ci-passphrase")
    report = tmp_path / "tool-validation.pdf"
    result = CliRunner().invoke(app, ["-C", str(root), "selftest", "--sign-as", "ci", "--report", str(report), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["record"]
    signed = verify_pdf(report.read_bytes(), Trust.from_store(store, home))
    assert signed.ok and signed.signatures[0].user_id == "ci"
    store.dispose()
    verdict = json.loads(CliRunner().invoke(app, ["-C", str(root), "verify", "--json"]).stdout)
    (tool,) = [c for c in verdict["checks"] if c["check"] == "tool-validation"]
    assert tool["passed"] and tool["examined"] == 1
