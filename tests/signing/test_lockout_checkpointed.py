"""Wrong passphrases and locks are checkpointed at once: deleting them afterwards breaks a pinned event, and no
identity unlocks or signs over a chain that lost what the checkpoint log names."""

from __future__ import annotations

from pathlib import Path

import pytest

from qms import audit, checkpoint, checkpoint_log
from qms.errors import CheckFailed
from qms.signing import WrongPassphrase, sign_bytes
from qms.signing.lockout import FAILED, LOCKED, MAX_FAILURES, IdentityLocked
from qms.signing.session import open_session, session_actor
from tests.core.tamper import drop_protection, execute
from tests.release.demo_org import DemoOrg, demo_org, passphrase

APPROVER = "demo.approver"


@pytest.fixture
def org(tmp_path: Path) -> DemoOrg:
    """The example project's store, attached to its checkpoint log as the CLI attaches it, with the approver locked."""
    org = demo_org(tmp_path)
    for _ in range(MAX_FAILURES):
        with pytest.raises(WrongPassphrase):
            open_session(org.store, org.home, APPROVER, "a guess")
    with pytest.raises(IdentityLocked):
        open_session(org.store, org.home, APPROVER, passphrase(APPROVER))
    return org


def _log(org: DemoOrg) -> checkpoint_log.LogState:
    key = checkpoint_log.trusted_key(org.home / checkpoint.KEY_FILE)
    return checkpoint_log.read(org.project.records_dir / checkpoint_log.LOG_FILE, org.store.store_id, key)


def _erase_the_refusals(org: DemoOrg) -> None:
    """What an attacker with database access does: delete every refusal and lock event (all at the chain's end)."""
    first = min(e.seq for e in audit.log(org.store, action=FAILED))
    drop_protection(org.store)
    execute(org.store, "DELETE FROM audit_event WHERE seq >= :s", s=first)


def test_every_refusal_and_lock_is_checkpointed(org: DemoOrg) -> None:
    """Each wrong passphrase, the lock and the attempt while locked are covered by a signed checkpoint at once."""
    state = _log(org)
    assert state.findings == [] and state.latest is not None
    assert state.latest.seq == audit.head(org.store)[0]
    assert audit.log(org.store)[-1].action == LOCKED
    refusals = [e.seq for e in audit.log(org.store, action=FAILED)]
    assert len(refusals) == MAX_FAILURES
    assert all(s in state.pins or s + 1 in state.pins for s in refusals)  # the last is sealed with its lock


def test_erased_refusals_break_the_chain_against_the_log(org: DemoOrg) -> None:
    """Deleting the refusals and locks is a break of the chain verified against the checkpoint log."""
    _erase_the_refusals(org)
    report, _ = checkpoint_log.verify_chain(org.store, org.project.records_dir / checkpoint_log.LOG_FILE,
                                            checkpoint_log.trusted_key(org.home / checkpoint.KEY_FILE))
    assert report.first_break is not None and "events were removed" in report.first_break.reason


def test_no_unlock_or_signature_over_erased_refusals(org: DemoOrg) -> None:
    """With the refusals erased the right passphrase still unlocks nothing and signs nothing: the lock cannot be lifted
    by deleting its events, and no guess is even tried."""
    _erase_the_refusals(org)
    head = audit.head(org.store)
    with pytest.raises(CheckFailed, match="events after it were deleted"):
        open_session(org.store, org.home, APPROVER, passphrase(APPROVER))
    with pytest.raises(CheckFailed, match="events after it were deleted"):
        sign_bytes(org.store, org.home, APPROVER, "another guess", b"x", "approved", "doc:1")
    assert session_actor(org.home) is None and audit.head(org.store) == head
