"""The signing commands: `qms ca`, `qms user`, `qms sign`, `qms verify-signature`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from qms.cli.main import app
from tests.signing.orgkit import render_pdfa


def test_sign_and_verify_a_file(project: Path) -> None:
    """A person signs a file with the passphrase given at signing; verification passes, then fails once it changes."""
    runner = CliRunner()
    target = project / "plan.txt"
    target.write_text("software development plan\n")
    result = runner.invoke(app, ["sign", str(target), "--meaning", "authored", "--user", "alice", "--json"],
                           input="alice-passphrase\n")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["name"] == "Alice Author"
    verified = runner.invoke(app, ["verify-signature", str(target), "--json"])
    assert verified.exit_code == 0 and json.loads(verified.stdout)["ok"]
    target.write_text("software development plan, edited\n")
    assert runner.invoke(app, ["verify-signature", str(target)]).exit_code == 1


def test_wrong_passphrase_exits_2_and_writes_nothing(project: Path) -> None:
    """A wrong passphrase is a usage error (exit 2) and leaves no signature file."""
    target = project / "plan.txt"
    target.write_text("plan\n")
    result = CliRunner().invoke(app, ["sign", str(target), "--meaning", "authored", "--user", "alice"], input="nope-nope\n")
    assert result.exit_code == 2 and "wrong passphrase" in result.output
    assert not (project / "plan.txt.sig.json").exists()


def test_wrong_passphrase_names_the_identity_signing(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without --user, `qms sign` signs as the unlocked identity (not QMS_USER) and a wrong passphrase names it and its source."""
    target = project / "plan.txt"
    target.write_text("plan\n")
    monkeypatch.setenv("QMS_USER", "quinn")
    runner = CliRunner()
    refused = runner.invoke(app, ["sign", str(target), "--meaning", "authored"], input="x\n")
    assert refused.exit_code == 2 and "no identity is unlocked" in refused.output and "--user" in refused.output
    assert runner.invoke(app, ["session", "unlock", "alice"], input="alice-passphrase\n").exit_code == 0
    wrong = runner.invoke(app, ["sign", str(target), "--meaning", "authored"], input="nope-nope\n")
    assert wrong.exit_code == 2 and "wrong passphrase of alice (the identity unlocked" in wrong.output
    assert "quinn" not in wrong.output
    chosen = runner.invoke(app, ["sign", str(target), "--meaning", "authored", "--user", "alice"], input="nope-nope\n")
    assert "wrong passphrase of alice (given with --user)" in chosen.output
    helped = runner.invoke(app, ["sign", "--help"], env={"COLUMNS": "200"})
    assert "session unlock" in helped.output and "default: QMS_USER" not in helped.output


def test_person_cannot_use_the_service_passphrase_variable(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The non-interactive passphrase variable works for the service identity only."""
    target = project / "plan.txt"
    target.write_text("plan\n")
    monkeypatch.setenv("QMS_SIGNING_PASSPHRASE", "alice-passphrase")
    refused = CliRunner().invoke(app, ["sign", str(target), "--meaning", "authored", "--user", "alice"])
    assert refused.exit_code == 2 and "only a service identity" in refused.output
    monkeypatch.setenv("QMS_SIGNING_PASSPHRASE", "ci-passphrase")
    assert CliRunner().invoke(app, ["sign", str(target), "--meaning", "authored", "--user", "ci"]).exit_code == 0


def test_pdf_sign_and_verify_in_place(project: Path) -> None:
    """`qms sign` adds a PAdES signature to a PDF in place and `qms verify-signature` reports it."""
    pdf = project / "report.pdf"
    pdf.write_bytes(render_pdfa("<p>Synthetic report</p>"))
    before = pdf.read_bytes()
    result = CliRunner().invoke(app, ["sign", str(pdf), "--meaning", "authored", "--user", "alice"],
                                input="alice-passphrase\n")
    assert result.exit_code == 0, result.output
    assert pdf.read_bytes().startswith(before)
    verified = CliRunner().invoke(app, ["verify-signature", str(pdf), "--json"])
    assert verified.exit_code == 0, verified.output
    assert json.loads(verified.stdout)["signatures"][0]["signer"] == "Alice Author"


def test_user_list_and_revoke(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`qms user list` shows the signers; after `qms user revoke` the user is listed revoked and cannot sign."""
    runner = CliRunner()
    monkeypatch.setenv("QMS_CA_PASSPHRASE", "ca-passphrase-1")
    assert runner.invoke(app, ["user", "revoke", "alice", "--reason", "left"]).exit_code == 0
    monkeypatch.delenv("QMS_CA_PASSPHRASE")
    users = {u["user_id"]: u for u in json.loads(runner.invoke(app, ["user", "list", "--json"]).stdout)}
    assert users["alice"]["revoked"] and not users["ci"]["revoked"]
    target = project / "x.txt"
    target.write_text("x\n")
    result = runner.invoke(app, ["sign", str(target), "--meaning", "authored", "--user", "alice"], input="alice-passphrase\n")
    assert result.exit_code == 2 and "revoked" in result.output


def test_sign_and_verify_a_manifest_directory(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`qms sign DIR` writes a signed in-toto manifest of its files; adding a file makes verification fail."""
    bundle = project / "bundle"
    bundle.mkdir()
    (bundle / "notes.txt").write_text("release notes\n")
    monkeypatch.setenv("QMS_SIGNING_PASSPHRASE", "ci-passphrase")
    result = CliRunner().invoke(app, ["sign", str(bundle), "--meaning", "authored", "--user", "ci",
                                      "--git-commit", "0123abcd", "--test-run", "run-1"])
    assert result.exit_code == 0, result.output
    manifest = bundle / "manifest.dsse.json"
    assert CliRunner().invoke(app, ["verify-signature", str(manifest)]).exit_code == 0
    (bundle / "extra.txt").write_text("smuggled in\n")
    verified = CliRunner().invoke(app, ["verify-signature", str(manifest), "--json"])
    assert verified.exit_code == 1 and json.loads(verified.stdout)["added"] == ["extra.txt"]


def test_tsa_and_crl_commands_give_trusted_time_and_revocation(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`qms ca issue-tsa` then `qms sign --tsa local` give a PDF trusted time; `qms ca crl` lists a revoked user."""
    runner = CliRunner()
    monkeypatch.setenv("QMS_CA_PASSPHRASE", "ca-passphrase-1")
    issued = runner.invoke(app, ["ca", "issue-tsa", "--json"])
    assert issued.exit_code == 0, issued.output
    pdf = project / "report.pdf"
    pdf.write_bytes(render_pdfa("<p>Synthetic report</p>"))
    signed = runner.invoke(app, ["sign", str(pdf), "--meaning", "authored", "--user", "alice", "--tsa", "local"],
                           input="alice-passphrase\n")
    assert signed.exit_code == 0, signed.output
    verified = runner.invoke(app, ["verify-signature", str(pdf), "--json"])
    assert verified.exit_code == 0 and json.loads(verified.stdout)["signatures"][0]["time_trusted"]
    assert runner.invoke(app, ["user", "revoke", "ci", "--reason", "rotated out"]).exit_code == 0
    crl = runner.invoke(app, ["ca", "crl", "--json", "--out", str(project / "org.crl")])
    assert crl.exit_code == 0, crl.output
    assert json.loads(crl.stdout)["revoked"] == 1 and (project / "org.crl").is_file()


def test_grants_are_attributed_to_the_unlocked_identity(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A grant is recorded as the identity unlocked with its passphrase, never as QMS_USER; without one it is refused."""
    from qms.audit import log
    from qms.config import load_project
    from qms.store import open_store

    runner = CliRunner()
    monkeypatch.setenv("QMS_USER", "mallory")
    refused = runner.invoke(app, ["user", "revoke", "ci", "--reason", "rotated out"], input="\n")
    assert refused.exit_code != 0
    unlocked = runner.invoke(app, ["session", "unlock", "alice"], input="alice-passphrase\n")
    assert unlocked.exit_code == 0, unlocked.output
    monkeypatch.setenv("QMS_CA_PASSPHRASE", "ca-passphrase-1")  # it signs the new revocation list, not the grant
    assert runner.invoke(app, ["user", "revoke", "ci", "--reason", "rotated out"]).exit_code == 0
    store = open_store(load_project(project).database_url(None))
    assert [e.actor for e in log(store, action="user.revoke")] == ["alice"]
    assert [e.actor for e in log(store, action="identity.unlock")] == ["alice"]


def test_an_erased_revocation_breaks_the_checkpointed_chain(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`qms user revoke` checkpoints the chain, so an insider who drops the triggers and deletes the revocation row and
    its audit event (the last one) cannot make `qms audit verify` say intact again."""
    from qms.store import open_store
    from tests.core.tamper import drop_table_protection

    runner = CliRunner()
    monkeypatch.setenv("QMS_CA_PASSPHRASE", "ca-passphrase-1")
    assert runner.invoke(app, ["user", "revoke", "alice", "--reason", "key compromised"]).exit_code == 0
    monkeypatch.delenv("QMS_CA_PASSPHRASE")
    assert runner.invoke(app, ["audit", "verify"]).exit_code == 0
    store = open_store(f"sqlite:///{project / '.qms' / 'qms.db'}", create=False)
    for table in ("signing_revocation", "audit_event"):
        drop_table_protection(store, table)
    with store.engine.begin() as conn:
        from sqlalchemy import text

        conn.execute(text("DELETE FROM signing_revocation"))
        conn.execute(text("DELETE FROM audit_event WHERE seq = (SELECT MAX(seq) FROM audit_event)"))
    result = runner.invoke(app, ["audit", "verify"])
    assert result.exit_code == 1, result.output
