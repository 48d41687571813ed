"""The gate and the release verify the audit trail: a broken chain, or a grant row its event does not vouch for, is a finding."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from qms import audit
from qms.config import load_project
from qms.gate.checks.audit import AuditTrailIntact
from qms.gate.context import GateContext
from qms.gate.grants import grant_findings
from qms.release.service import GateFailed, author
from qms.release_plan import load_plan
from qms.signing import revoke, rotate_key, sign_bytes
from qms.signing.signatory import Signatory
from qms.store import Store
from qms.validation.lock import lock
from qms.validation.protocolparser import read_protocol
from qms.validation.inputs import inputs_for
from tests.core.tamper import drop_protection, drop_table_protection, execute
from tests.signing.orgkit import CA_PASS, Org, make_org, passphrase
from tests.validation.synthetic import make_project, toy_identity

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "cxr-triage"


@pytest.fixture
def org(store: Store, tmp_path: Path) -> Org:
    return make_org(store, tmp_path / "home")


def _reasons(store: Store) -> list[str]:
    return [f"{f.item}: {f.reason}" for f in grant_findings(store)[0]]


def test_untouched_grants_match_their_events(org: Org) -> None:
    """Users, certificates, a rotation, a revocation and signatures (with and without a reason) match their events."""
    sign_bytes(org.store, org.home, "bob", passphrase("bob"), b"roster", "approved", "roster:1")
    sign_bytes(org.store, org.home, "carol", passphrase("carol"), b"plan", "approved: plan v2 accepted", "plan:1")
    rotate_key(org.store, org.home, "bob", passphrase("bob"), CA_PASS, actor="admin")
    revoke(org.store, "alice", "key lost", actor="admin")
    findings, examined = grant_findings(org.store)
    assert findings == [] and examined == 4 + 5 + 2 + 2


def test_edited_signature_meaning_is_a_finding(org: Org) -> None:
    """A signature row whose meaning was raised from reviewed to approved (triggers dropped) is a finding."""
    rec = sign_bytes(org.store, org.home, "bob", passphrase("bob"), b"doc", "reviewed", "doc:1")
    drop_table_protection(org.store, "signature")
    execute(org.store, "UPDATE signature SET meaning = 'approved'")
    assert _reasons(org.store) == [f"signature signature:{rec.id}: the signature row differs from what its audit "
                                   "event recorded: the row was edited"]


def test_raised_role_with_dropped_triggers_is_a_finding(org: Org) -> None:
    """A service identity's role raised in the table, its triggers dropped first, is a finding naming the user."""
    drop_table_protection(org.store, "signing_user")
    execute(org.store, "UPDATE signing_user SET role = 'regulatory' WHERE user_id = 'ci'")
    assert _reasons(org.store) == ["signing_user user:ci: the signing_user row differs from what its audit event "
                                   "recorded: the row was edited"]


def test_deleted_revocation_is_a_finding(org: Org) -> None:
    """A revocation deleted from the table (triggers dropped) is a finding: the audit trail still records it."""
    revoke(org.store, "alice", "key lost", actor="admin")
    drop_table_protection(org.store, "signing_revocation")
    execute(org.store, "DELETE FROM signing_revocation WHERE user_id = 'alice'")
    reasons = _reasons(org.store)
    assert len(reasons) == 1 and reasons[0].startswith("signing_revocation user:alice") and "deleted" in reasons[0]


def test_inserted_user_is_a_finding(org: Org) -> None:
    """A user row inserted by SQL, with no audit event, is a finding."""
    execute(org.store, "INSERT INTO signing_user (id, created_at, user_id, name, role) "
                       "VALUES ('x1', '2026-01-01 00:00:00', 'mallory', 'M', 'regulatory')")
    assert _reasons(org.store) == ["signing_user user:mallory: the signing_user row has no audit event: "
                                   "the row was inserted outside qmskit"]


def test_edited_protocol_lock_is_a_finding(store: Store, tmp_path: Path) -> None:
    """A protocol lock whose locked manifest hash was edited in the table no longer matches its signed-off event."""
    root = tmp_path / "p"
    protocol = make_project(root, 12)
    lock(store, inputs_for(read_protocol(protocol), root, toy_identity(root)), "alice")
    assert _reasons(store) == []
    drop_table_protection(store, "validation_protocol_lock")
    execute(store, "UPDATE validation_protocol_lock SET manifest_sha256 = :h", h="cd" * 32)
    assert _reasons(store) == ["validation_protocol_lock protocol:VAL-T@1.0: the validation_protocol_lock row differs "
                               "from what its audit event recorded: the row was edited"]


@pytest.fixture
def example(tmp_path: Path) -> Path:
    root = tmp_path / "proj"
    shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns(".qms", "out", "data", "__pycache__"))
    return root


def _break_chain(store: Store) -> None:
    for i in range(3):
        audit.record(store, audit.EventSpec("alice", "item.create", f"item:{i}"))
    drop_protection(store)
    execute(store, "DELETE FROM audit_event WHERE seq = 2")


def test_gate_fails_on_a_broken_chain(example: Path, store: Store) -> None:
    """`qms verify`'s audit criterion names the first broken event."""
    project = load_project(example)
    _break_chain(store)
    outcome = AuditTrailIntact().evaluate(GateContext(project, store, load_plan(project)))
    assert [f.item for f in outcome.findings] == ["audit event 2"]


def test_release_is_refused_over_a_broken_chain(example: Path, store: Store, tmp_path: Path) -> None:
    """`qms release` refuses to author a release over a broken audit chain, naming the audit criterion."""
    _break_chain(store)
    with pytest.raises(GateFailed) as exc:
        author(load_project(example), store, tmp_path / "home", "1.0.0", Signatory("demo.author", "x"))
    assert [(f.check, f.item) for f in exc.value.verdict.findings] == [("audit", "audit event 2")]
    assert not (example / ".qms" / "releases").exists()
