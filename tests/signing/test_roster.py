"""The signing roster and its approval: only a quality person, certified as quality by the CA, approves who may sign what."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from qms.audit import log
from qms.signing import SigningError
from qms.signing.authority import approval_document, approve_roster, approved_roster, check_approval
from qms.signing.keys import subject_role
from qms.signing.roster import Duty, Roster, load_roster
from qms.signing.signatory import Signatory
from tests.signing.orgkit import Org, passphrase

IDENTITIES = {"alice": {"kind": "person", "roles": ["author"]}, "bob": {"kind": "person", "roles": ["reviewer", "quality"]},
              "carol": {"kind": "person", "roles": ["approver"], "documents": ["validation-*"]},
              "ci": {"kind": "service", "roles": ["seal"]}}


def _roster(identities: dict[str, dict[str, object]] | None = None) -> Roster:
    return Roster.from_json({"identities": identities or IDENTITIES}, "roster")


def test_certificates_state_the_role() -> None:
    """A certificate the self-managed CA issues names the user's role (X.520 title), so the role is the CA's statement."""
    from qms.signing.keys import generate_key, issue_certificate, make_ca_certificate, public_der

    ca_key = generate_key()
    now = dt.datetime.now(dt.UTC)
    ca = make_ca_certificate(ca_key, "Example", now, 10)
    cert = issue_certificate(ca_key, ca, public_der(generate_key()), "Bob", "bob", now, 10, "quality")
    assert subject_role(cert) == "quality"


def test_service_identity_cannot_hold_a_judging_duty() -> None:
    """A roster giving a service identity the reviewer, approver or quality duty does not parse."""
    with pytest.raises(SigningError, match="service identity"):
        _roster({**IDENTITIES, "ci": {"kind": "service", "roles": ["approver"]}})


def test_roster_grants_by_duty_and_document() -> None:
    """The roster allows a duty on the documents its patterns match, and names why it refuses anything else."""
    roster = _roster()
    assert roster.problem("carol", Duty.APPROVER, "validation-report") is None
    assert "may not sign risk-management" in str(roster.problem("carol", Duty.APPROVER, "risk-management"))
    assert "not on the approved signing roster" in str(roster.problem("mallory", Duty.AUTHOR))


def test_quality_person_approves_and_the_approval_is_audited(org: Org) -> None:
    """A quality person the roster names approves it: the approval is stored, audited and verifies offline."""
    roster = _roster()
    rec = approve_roster(org.store, org.home, Signatory("bob", passphrase("bob")), roster)
    assert approved_roster(org.store, org.home, roster).id == rec.id
    assert any(e.object.startswith("signing-roster:") and e.actor == "bob" for e in log(org.store, action="signature.apply"))
    approved, problems = check_approval(roster.canonical(), approval_document(org.store, org.home, rec), org.trust(), "r")
    assert approved is not None and approved.digest == roster.digest and not problems


@pytest.mark.parametrize("user_id", ["alice", "carol"])
def test_non_quality_identity_cannot_approve(org: Org, user_id: str) -> None:
    """An engineer or regulatory user cannot approve a roster, even one that names them quality."""
    roster = _roster({**IDENTITIES, user_id: {"kind": "person", "roles": ["quality", "approver"]}})
    with pytest.raises(SigningError, match=f": {user_id} may not approve the roster: .* not quality"):  # a refusal
        approve_roster(org.store, org.home, Signatory(user_id, passphrase(user_id)), roster)  # that reads as one


def test_changed_roster_is_not_approved(org: Org) -> None:
    """An approval covers exactly the roster approved: one more duty makes it an unapproved roster."""
    approve_roster(org.store, org.home, Signatory("bob", passphrase("bob")), _roster())
    widened = _roster({**IDENTITIES, "alice": {"kind": "person", "roles": ["author", "approver"]}})
    with pytest.raises(SigningError, match="not approved"):
        approved_roster(org.store, org.home, widened)


def test_roster_file_errors_name_the_file(tmp_path: Path) -> None:
    """A roster file with an unknown duty is refused naming the file and the identity."""
    path = tmp_path / "signing-roster.yaml"
    path.write_text("identities:\n  alice: {kind: person, roles: [boss]}\n")
    with pytest.raises(SigningError) as err:
        load_roster(path)
    assert err.value.where == f"{path}:2" and "alice" in err.value.message
    assert json.loads(json.dumps(_roster().to_json()))["kind"] == "qms-signing-roster/v1"


@pytest.mark.parametrize(("entry", "line", "words", "meant"), [
    ("    kind: persn\n    roles: [approver]\n", 4, "kind 'persn' is not allowed", "did you mean 'person'?"),
    ("    kind: person\n    roles: [aprover]\n", 5, "roles 'aprover' is not allowed", "did you mean 'approver'?"),
    ("    kind: person\n    rolez: [approver]\n", 5, "unknown key 'rolez'", "did you mean 'roles'?"),
])
def test_a_roster_typo_names_its_line_and_the_value_meant(tmp_path: Path, entry: str, line: int, words: str,
                                                          meant: str) -> None:
    """A misspelt kind, role or key in the signing roster is refused at its file:line with the value it was meant to be."""
    path = tmp_path / "signing-roster.yaml"
    path.write_text("# roster\nidentities:\n  reggie:\n" + entry)
    with pytest.raises(SigningError) as caught:
        load_roster(path)
    assert words in caught.value.message and caught.value.where == f"{path}:{line}"
    assert meant in (caught.value.hint or "")


@pytest.mark.parametrize(("text", "key", "line", "meant"), [
    ("# roster\nidentites:\n  reggie: {kind: person, roles: [author]}\n", "identites", 2, "did you mean 'identities'?"),
    ("identities:\n  reggie: {kind: person, roles: [author]}\napprover: reggie\n", "approver", 3, ""),
])
def test_an_unknown_top_level_roster_key_is_refused_at_its_line(tmp_path: Path, text: str, key: str, line: int,
                                                                 meant: str) -> None:
    """A roster key other than `identities` and `kind` is refused at its file:line, with the key meant when one is close."""
    path = tmp_path / "signing-roster.yaml"
    path.write_text(text)
    with pytest.raises(SigningError) as caught:
        load_roster(path)
    assert f"unknown key {key!r}" in caught.value.message and caught.value.where == f"{path}:{line}"
    assert meant in (caught.value.hint or "") and "identities, kind" in (caught.value.hint or "")
