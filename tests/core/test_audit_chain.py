"""The audit trail's hash chain: intact when untouched, broken at the exact tampered event."""

from __future__ import annotations

import pytest

from qms import audit
from qms.store import Store
from tests.core.tamper import drop_protection, execute

pytestmark = pytest.mark.verifies("QMS-REQ-002", "QMS-RC-002")


def _fill(store: Store, n: int = 5) -> None:
    for i in range(n):
        audit.record(store, audit.EventSpec(f"user{i % 2}", "item.create", f"item:{i}",
                                            after=audit.state_digest({"i": i}), details={"n": i}))


def test_untouched_chain_verifies(store: Store) -> None:
    """A chain written only through the library verifies, with its head and count."""
    _fill(store)
    report = audit.verify(store)
    assert report.intact and report.events == 5 and report.head_seq == 5
    assert report.head_hash == audit.head(store)[1]


def test_empty_chain_verifies(store: Store) -> None:
    """An empty trail is intact, with the genesis hash as its head."""
    report = audit.verify(store)
    assert report.intact and report.events == 0 and report.head_hash == audit.GENESIS


def test_events_link_to_their_predecessor(store: Store) -> None:
    """Each event carries the hash of the one before it; the first carries the genesis hash."""
    _fill(store, 3)
    events = audit.log(store)
    assert events[0].prev_hash == audit.GENESIS
    assert [e.prev_hash for e in events[1:]] == [e.hash for e in events[:-1]]


@pytest.mark.parametrize(
    ("sql", "broken_at", "reason"),
    [
        ("UPDATE audit_event SET actor = 'mallory' WHERE seq = 3", 3, "edited"),
        ("UPDATE audit_event SET details = '[]' WHERE seq = 4", 4, "edited"),
        ("DELETE FROM audit_event WHERE seq = 2", 2, "missing"),
        ("DELETE FROM audit_event WHERE seq = 5", None, None),
        ("UPDATE audit_event SET seq = seq + 100 WHERE seq >= 3", 3, "missing"),
    ],
)
def test_raw_sql_tampering_is_found(store: Store, sql: str, broken_at: int | None, reason: str | None) -> None:
    """Editing or deleting rows with raw SQL breaks the chain at the first changed event."""
    _fill(store)
    drop_protection(store)
    execute(store, sql)
    report = audit.verify(store)
    if broken_at is None:  # removing the newest event leaves a shorter, valid chain: checkpoints catch it
        assert report.intact and report.head_seq == 4
        return
    assert report.first_break is not None
    assert report.first_break.seq == broken_at
    assert reason is not None and reason in report.first_break.reason


def test_inserted_event_is_found(store: Store) -> None:
    """An event inserted into the middle, even with a valid-looking hash, breaks the chain."""
    _fill(store)
    drop_protection(store)
    execute(store, "UPDATE audit_event SET seq = seq + 1000 WHERE seq >= 3")  # make room, as an insider would
    execute(store, "UPDATE audit_event SET seq = seq - 999 WHERE seq >= 1000")
    forged = audit.event_hash(3, "2026-01-01T00:00:00.000000Z", "mallory", "item.create", "item:x", None, None, "{}",
                              "f" * 64)
    execute(store, "INSERT INTO audit_event (seq, time, actor, action, object, details, prev_hash, hash) "
                   "VALUES (3, '2026-01-01T00:00:00.000000Z', 'mallory', 'item.create', 'item:x', '{}', :p, :h)",
            p="f" * 64, h=forged)
    report = audit.verify(store)
    assert report.first_break is not None and report.first_break.seq == 3
    assert "inserted" in report.first_break.reason


def test_reordered_events_are_found(store: Store) -> None:
    """Swapping two events' positions breaks the chain where the order changed."""
    _fill(store)
    drop_protection(store)
    execute(store, "UPDATE audit_event SET seq = 100 WHERE seq = 2")
    execute(store, "UPDATE audit_event SET seq = 2 WHERE seq = 3")
    execute(store, "UPDATE audit_event SET seq = 3 WHERE seq = 100")
    report = audit.verify(store)
    assert report.first_break is not None and report.first_break.seq == 2


def test_log_filters(store: Store) -> None:
    """The log filters by action, actor, object prefix and keeps the newest N in order."""
    _fill(store)
    audit.record(store, audit.EventSpec("user0", "other.thing", "thing:1"))
    assert [e.seq for e in audit.log(store, actor="user1")] == [2, 4]
    assert [e.seq for e in audit.log(store, action="other.thing")] == [6]
    assert [e.seq for e in audit.log(store, object_prefix="item:")] == [1, 2, 3, 4, 5]
    assert [e.seq for e in audit.log(store, limit=2)] == [5, 6]
    assert audit.log(store, since="9999") == []


def test_append_many_continues_the_chain(store: Store) -> None:
    """The bulk path appends a chain that continues the existing one and verifies."""
    _fill(store, 2)
    count = audit.append_many(store, (audit.EventSpec("bulk", "x.import", f"x:{i}") for i in range(120)), chunk=50)
    assert count == 120
    report = audit.verify(store)
    assert report.intact and report.head_seq == 122


def test_event_rolls_back_with_its_record(store: Store) -> None:
    """An event appended in a transaction that fails is not kept: no record, no event."""
    _fill(store, 1)
    with pytest.raises(RuntimeError):
        with store.transaction() as session:
            audit.append(session, audit.EventSpec("alice", "x.create", "x:2"))
            raise RuntimeError("the record write failed")
    assert audit.verify(store).head_seq == 1
