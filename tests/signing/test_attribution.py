"""Attributable actions: the actor is an identity proven by its passphrase; wrong passphrases lock the identity."""

from __future__ import annotations

import datetime as dt

import pytest

from qms.audit import log
from qms.signing import WrongPassphrase, sign_bytes
from qms.signing.lockout import MAX_FAILURES, WINDOW, IdentityLocked
from qms.signing.pdf import Signatory, sign_pdf
from qms.signing.session import open_session, session_actor
from tests.signing.orgkit import Org, passphrase


def test_review_is_recorded_as_the_signer_not_the_runner(org: Org, pdfa: bytes) -> None:
    """A review run by someone claiming another name is recorded as the signer whose passphrase was given."""
    sign_pdf(org.store, org.home, Signatory("bob", passphrase("bob"), actor="mallory"), pdfa, "reviewed", "doc:1")
    event = log(org.store, action="signature.apply")[-1]
    assert event.actor == "bob" and '"invoked_by":"mallory"' in event.details


def test_wrong_passphrases_lock_the_identity(org: Org) -> None:
    """After MAX_FAILURES wrong passphrases even the right one is refused, the lock is audited, and it opens after WINDOW."""
    for _ in range(MAX_FAILURES):
        with pytest.raises(WrongPassphrase):
            sign_bytes(org.store, org.home, "alice", "not the passphrase", b"x", "authored", "doc:1")
    with pytest.raises(IdentityLocked):
        sign_bytes(org.store, org.home, "alice", passphrase("alice"), b"x", "authored", "doc:1")
    assert len(log(org.store, action="identity.locked", object_prefix="user:alice")) == 2  # the lock, the attempt
    later = dt.datetime.now(dt.UTC) + WINDOW + dt.timedelta(minutes=1)
    rec = sign_bytes(org.store, org.home, "alice", passphrase("alice"), b"x", "authored", "doc:1", now=later)
    assert rec.user_id == "alice"
    assert sign_bytes(org.store, org.home, "bob", passphrase("bob"), b"x", "reviewed", "doc:1").user_id == "bob"


def test_session_names_the_unlocked_identity_until_it_expires(org: Org) -> None:
    """An unlocked session names its identity until its timeout; a tampered token names no one."""
    opened = open_session(org.store, org.home, "carol", passphrase("carol"), timeout=dt.timedelta(minutes=5))
    assert session_actor(org.home) == opened
    assert session_actor(org.home, now=opened.expires_at + dt.timedelta(seconds=1)) is None
    token = (org.home / "session.json").read_text()
    (org.home / "session.json").write_text(token.replace('"carol"', '"alice"'))
    assert session_actor(org.home) is None


def test_session_unlock_needs_the_passphrase(org: Org) -> None:
    """A wrong passphrase opens no session and is audited like any wrong passphrase."""
    with pytest.raises(WrongPassphrase):
        open_session(org.store, org.home, "carol", "guess-guess")
    assert session_actor(org.home) is None
    assert log(org.store, action="signature.refused", object_prefix="user:carol")


def test_wrong_passphrases_at_session_unlock_lock_the_identity(org: Org) -> None:
    """Session unlocks count towards the lockout like signings: after MAX_FAILURES wrong ones the right passphrase opens
    nothing, the lock and the attempt are audited, and no token is written."""
    for _ in range(MAX_FAILURES):
        with pytest.raises(WrongPassphrase):
            open_session(org.store, org.home, "carol", "guess-guess")
    with pytest.raises(IdentityLocked):
        open_session(org.store, org.home, "carol", passphrase("carol"))
    assert session_actor(org.home) is None and not (org.home / "session.json").exists()
    assert len(log(org.store, action="signature.refused", object_prefix="user:carol")) == MAX_FAILURES
    assert len(log(org.store, action="identity.locked", object_prefix="user:carol")) == 2
    with pytest.raises(IdentityLocked):  # the lock is per identity, and a signing is refused as well
        sign_bytes(org.store, org.home, "carol", passphrase("carol"), b"x", "approved", "doc:1")
    later = dt.datetime.now(dt.UTC) + WINDOW + dt.timedelta(minutes=1)
    assert open_session(org.store, org.home, "carol", passphrase("carol"), now=later).user_id == "carol"
