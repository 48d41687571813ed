"""Signed checkpoints catch what a hash chain alone cannot: a rewrite of the whole chain."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from qms import audit, checkpoint
from qms.errors import CheckFailed, QmsError
from qms.store import Store, open_store
from tests.core.tamper import drop_protection, execute, rewrite_chain


@pytest.fixture
def key(tmp_path: Path) -> Ed25519PrivateKey:
    return checkpoint.load_or_create_key(tmp_path / "keys" / "checkpoint.pem")


def _fill(store: Store, n: int) -> None:
    for i in range(n):
        audit.record(store, audit.EventSpec("alice", "item.create", f"item:{i}"))


def test_full_rewrite_passes_the_chain_but_not_the_checkpoint(store: Store, key: Ed25519PrivateKey) -> None:
    """A consistently recomputed forged chain verifies alone, and fails against a signed checkpoint."""
    _fill(store, 4)
    cp = checkpoint.create(store, key)
    drop_protection(store)
    rewrite_chain(store, "mallory")
    assert audit.verify(store).intact
    report = checkpoint.verify_against(store, cp, key.public_key(), "cp.json")
    assert report.first_break is not None and report.first_break.seq == 4
    assert "rewritten" in report.first_break.reason


def test_checkpoint_holds_after_later_appends(store: Store, key: Ed25519PrivateKey) -> None:
    """Events appended after a checkpoint leave it valid."""
    _fill(store, 3)
    cp = checkpoint.create(store, key)
    _fill(store, 3)
    assert checkpoint.verify_against(store, cp, key.public_key(), "cp.json").intact


def test_truncation_below_the_checkpoint_is_found(store: Store, key: Ed25519PrivateKey) -> None:
    """Removing the newest events, which the bare chain cannot notice, fails against the checkpoint."""
    _fill(store, 5)
    cp = checkpoint.create(store, key)
    drop_protection(store)
    execute(store, "DELETE FROM audit_event WHERE seq >= 4")
    assert audit.verify(store).intact
    report = checkpoint.verify_against(store, cp, key.public_key(), "cp.json")
    assert report.first_break is not None and "removed" in report.first_break.reason


def test_altered_checkpoint_is_refused(store: Store, key: Ed25519PrivateKey) -> None:
    """A checkpoint whose content was changed after signing is refused."""
    _fill(store, 2)
    cp = dataclasses.replace(checkpoint.create(store, key), seq=1)
    with pytest.raises(CheckFailed, match="not valid"):
        checkpoint.verify_against(store, cp, key.public_key(), "cp.json")


def test_untrusted_signer_is_refused(store: Store, key: Ed25519PrivateKey, tmp_path: Path) -> None:
    """A checkpoint signed by a key other than the trusted one is refused, naming both keys."""
    _fill(store, 1)
    other = checkpoint.load_or_create_key(tmp_path / "other.pem")
    cp = checkpoint.create(store, other)
    with pytest.raises(CheckFailed, match="untrusted key"):
        checkpoint.verify_against(store, cp, key.public_key(), "cp.json")


def test_checkpoint_of_another_store_is_refused(store: Store, key: Ed25519PrivateKey, tmp_path: Path) -> None:
    """A checkpoint names its store: it cannot vouch for a different one."""
    other = open_store(f"sqlite:///{tmp_path / 'other.db'}")
    try:
        cp = checkpoint.create(other, key)
        with pytest.raises(CheckFailed, match="not of this one"):
            checkpoint.verify_against(store, cp, key.public_key(), "cp.json")
    finally:
        other.dispose()


def test_checkpoint_round_trips_through_json(store: Store, key: Ed25519PrivateKey) -> None:
    """A checkpoint read back from its JSON form is the same checkpoint and still verifies."""
    _fill(store, 2)
    cp = checkpoint.create(store, key)
    again = checkpoint.Checkpoint.from_json(cp.to_json(), "cp.json")
    assert again == cp
    again.check_signature(key.public_key(), "cp.json")
    with pytest.raises(QmsError, match="not a qms-audit-checkpoint"):
        checkpoint.Checkpoint.from_json({"kind": "other"}, "cp.json")


def test_key_is_created_private_and_reused(tmp_path: Path) -> None:
    """The checkpoint key is created readable by its owner only, and loaded the same next time."""
    path = tmp_path / "k.pem"
    first = checkpoint.load_or_create_key(path)
    assert path.stat().st_mode & 0o077 == 0
    assert checkpoint.key_fingerprint(checkpoint.load_or_create_key(path).public_key()) == \
        checkpoint.key_fingerprint(first.public_key())
