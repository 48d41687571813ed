"""Commands that record events name an authenticated identity once the project has one (21 CFR 11.10(d), (e); #14 item 7)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from qms.audit import log
from qms.cli.main import app
from qms.config import load_project
from qms.signing.lockout import MAX_FAILURES
from qms.store import Store, open_store
from qms.traceability.records import LinkReview
from tests.traceability.trace_helpers import NEED, requirement

UNLOCK_HINT = "qms session unlock"


def _store(root: Path) -> Store:
    return open_store(load_project(root).database_url(None))


def _token(runner: CliRunner) -> tuple[int, str]:
    result = runner.invoke(app, ["api", "token", "create", "--client", "viewer", "--model", "m"])
    return result.exit_code, result.output


def test_an_event_needs_an_unlocked_identity_once_one_is_enrolled(project: Path) -> None:
    """With enrolled identities and no session a state-changing command is refused with the unlock hint, records nothing,
    and after `qms session unlock` the event names the identity, not QMS_USER."""
    runner = CliRunner()
    code, output = _token(runner)
    assert code == 2 and "no identity is unlocked" in output and UNLOCK_HINT in output
    assert log(_store(project), action="api.token.create") == []
    assert runner.invoke(app, ["session", "unlock", "alice"], input="alice-passphrase\n").exit_code == 0
    assert _token(runner)[0] == 0
    assert [e.actor for e in log(_store(project), action="api.token.create")] == ["alice"]


def test_a_link_review_is_refused_without_a_session_and_names_the_reviewer_with_one(project: Path) -> None:
    """`qms trace review` leaves the design file untouched without a session, and records the unlocked reviewer with one."""
    (project / "design" / "n.yaml").write_text(NEED)
    item = project / "design" / "r.yaml"
    item.write_text(requirement("REQ-001", "NEED-001"))
    runner = CliRunner()
    refused = runner.invoke(app, ["trace", "review", "REQ-001"])
    assert refused.exit_code == 2 and UNLOCK_HINT in refused.output
    assert item.read_text() == requirement("REQ-001", "NEED-001")
    assert runner.invoke(app, ["session", "unlock", "alice"], input="alice-passphrase\n").exit_code == 0
    assert runner.invoke(app, ["trace", "review", "REQ-001"]).exit_code == 0
    assert [r.actor for r in _store(project).all(LinkReview)] == ["alice"]


def test_a_ci_service_identity_unlocks_from_its_passphrase_file(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """CI unlocks its service identity non-interactively from QMS_SIGNING_PASSPHRASE_FILE; its events name it."""
    secret = project.parent / "ci.passphrase"
    secret.write_text("ci-passphrase\n")
    monkeypatch.setenv("QMS_SIGNING_PASSPHRASE_FILE", str(secret))
    runner = CliRunner()
    assert runner.invoke(app, ["session", "unlock", "ci"]).exit_code == 0
    assert _token(runner)[0] == 0
    assert [e.actor for e in log(_store(project), action="api.token.create")] == ["ci"]


def test_wrong_passphrases_at_session_unlock_lock_the_identity(project: Path) -> None:
    """`qms session unlock` with wrong passphrases is audited and locks the identity: then even the right one is refused."""
    runner = CliRunner()
    for _ in range(MAX_FAILURES):
        assert runner.invoke(app, ["session", "unlock", "alice"], input="wrong-guess\n").exit_code != 0
    locked = runner.invoke(app, ["session", "unlock", "alice"], input="alice-passphrase\n")
    assert locked.exit_code != 0 and "locked" in locked.output
    store = _store(project)
    assert len(log(store, action="signature.refused", object_prefix="user:alice")) == MAX_FAILURES
    assert len(log(store, action="identity.locked", object_prefix="user:alice")) == 2  # the lock, the attempt
    assert log(store, action="identity.unlock") == []
    assert runner.invoke(app, ["session", "show", "--json"]).stdout.strip() == "null"


def test_without_identities_the_actor_is_unverified_unless_the_project_requires_one(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Before any enrolment the event names `unverified:` QMS_USER; `require_authenticated_actor = true` refuses instead."""
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    assert runner.invoke(app, ["init", "--device", "Synthetic device"]).exit_code == 0
    assert _token(runner)[0] == 0
    assert [e.actor for e in log(_store(tmp_path), action="api.token.create")] == ["unverified:test.engineer"]
    config = tmp_path / "qms.toml"
    config.write_text(config.read_text().replace("[tool.qms]\n", "[tool.qms]\nrequire_authenticated_actor = true\n"))
    code, output = _token(runner)
    assert code == 2 and UNLOCK_HINT in output
