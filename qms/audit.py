"""The hash-chained audit trail (21 CFR Part 11 §11.10(e)).

Each event carries the hash of the one before it and its own hash over canonical bytes,
so editing, deleting, inserting or reordering any row breaks the chain at that row.
Appends run inside the store's serialised write transaction, so concurrent writers
cannot fork the chain. A rewrite of the whole chain is caught by signed checkpoints
kept outside the database (`qms.checkpoint`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlmodel import Session, col, select

from qms.hashing import canonical_json, digest_of
from qms.store import Store
from qms.store.records import AuditEvent

__all__ = [
    "ChainBreak", "ChainReport", "EventSpec", "GENESIS", "append", "append_many", "event_hash", "head", "log", "record",
    "state_digest", "verify",
]

GENESIS = "0" * 64
_COLUMNS = ("seq", "time", "actor", "action", "object", "before_digest", "after_digest", "details", "prev_hash", "hash")
_VERIFY_BATCH = 20_000


def event_hash(
    seq: int, time: str, actor: str, action: str, obj: str,
    before: str | None, after: str | None, details: str, prev_hash: str,
) -> str:
    """The hash of one event: sha256 over its fields, each length-prefixed (None is `~`).

    Length prefixes make the encoding unambiguous without JSON's cost, which matters
    when a million events are verified (hence one f-string, no helper calls).
    """
    payload = (f"qms-audit-v1|{seq}|{len(time)}:{time}{len(actor)}:{actor}{len(action)}:{action}"
               f"{len(obj)}:{obj}{'~' if before is None else f'{len(before)}:{before}'}"
               f"{'~' if after is None else f'{len(after)}:{after}'}{len(details)}:{details}"
               f"{len(prev_hash)}:{prev_hash}")
    return hashlib.sha256(payload.encode()).hexdigest()


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def state_digest(state: Any) -> str | None:
    """Digest of a before/after state: None for no state, else sha256 of its canonical JSON."""
    return None if state is None else digest_of(state)


@dataclass(frozen=True)
class EventSpec:
    """What a caller says happened; the trail adds sequence, time and hashes."""

    actor: str
    action: str
    object: str
    before: str | None = None
    after: str | None = None
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ChainBreak:
    seq: int
    reason: str


@dataclass(frozen=True)
class ChainReport:
    """The outcome of recomputing the chain: intact or the first broken event."""

    events: int
    head_seq: int
    head_hash: str
    first_break: ChainBreak | None

    @property
    def intact(self) -> bool:
        return self.first_break is None

    def to_json(self) -> dict[str, Any]:
        brk = self.first_break
        return {
            "intact": self.intact, "events": self.events, "head_seq": self.head_seq, "head_hash": self.head_hash,
            "first_break": None if brk is None else {"seq": brk.seq, "reason": brk.reason},
        }


def _head(session: Session) -> tuple[int, str]:
    last = session.exec(select(AuditEvent).order_by(col(AuditEvent.seq).desc()).limit(1)).first()
    return (0, GENESIS) if last is None else (last.seq, last.hash)


def _build(seq: int, prev: str, spec: EventSpec) -> tuple[Any, ...]:
    """One event's row, in `_COLUMNS` order, with its hash."""
    time = _now()
    details = canonical_json(spec.details).decode()
    h = event_hash(seq, time, spec.actor, spec.action, spec.object, spec.before, spec.after, details, prev)
    return (seq, time, spec.actor, spec.action, spec.object, spec.before, spec.after, details, prev, h)


def append(session: Session, spec: EventSpec) -> AuditEvent:
    """Append one event inside the caller's `store.transaction()` (so it commits with the record)."""
    seq, prev = _head(session)
    event = AuditEvent(**dict(zip(_COLUMNS, _build(seq + 1, prev, spec), strict=True)))
    session.add(event)
    session.flush()
    return event


def record(store: Store, spec: EventSpec) -> AuditEvent:
    """Append one event in a transaction of its own."""
    with store.transaction() as session:
        return append(session, spec)


def append_many(store: Store, specs: Iterable[EventSpec], *, chunk: int = 50_000) -> int:
    """Append many events in one transaction: the bulk path (imports, benchmarks).

    It goes straight to the driver's executemany, since ORM objects would cost more
    than the chain itself.
    """
    marker = "?" if store.is_sqlite else "%s"
    sql = f"INSERT INTO audit_event ({', '.join(_COLUMNS)}) VALUES ({', '.join([marker] * len(_COLUMNS))})"
    count = 0
    with store.transaction() as session:
        seq, prev = _head(session)
        cursor = session.connection().connection.driver_connection.cursor()  # type: ignore[union-attr]
        rows: list[tuple[Any, ...]] = []
        for spec in specs:
            seq += 1
            row = _build(seq, prev, spec)
            prev = row[-1]
            rows.append(row)
            if len(rows) >= chunk:
                cursor.executemany(sql, rows)
                count += len(rows)
                rows = []
        if rows:
            cursor.executemany(sql, rows)
            count += len(rows)
    return count


def _rows(store: Store, after: int = -(2**62)) -> Iterator[tuple[Any, ...]]:
    """Every event after `after` in sequence order, in batches, through the raw driver cursor (fast path)."""
    marker = "?" if store.is_sqlite else "%s"
    sql = f"SELECT {', '.join(_COLUMNS)} FROM audit_event WHERE seq > {marker} ORDER BY seq LIMIT {_VERIFY_BATCH}"
    with store.engine.connect() as conn:
        cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        while True:
            cursor.execute(sql, (after,))
            batch = cursor.fetchall()
            if not batch:
                return
            yield from batch
            after = batch[-1][0]


def verify(store: Store, *, expected: tuple[int, str] | None = None, pins: Mapping[int, str] | None = None,
           start: tuple[int, str] | None = None) -> ChainReport:
    """Recompute the chain and name the first broken event.

    `expected` (one (seq, hash) pair) and `pins` (seq -> hash) come from trusted signed
    checkpoints: the chain must contain each of those events with that hash, which a
    rewrite of the whole chain cannot fake. `start`, a trusted checkpoint's (seq, hash):
    recompute only the events after it (a seal's cost stays flat as the chain grows; the gate
    and `qms audit verify` recompute the whole chain); `events` then counts those alone.
    """
    wanted = {seq: h for seq, h in (pins or {}).items() if seq > 0}
    if expected is not None and expected[0] > 0:
        wanted[expected[0]] = expected[1]
    prev, count, last_seq = GENESIS, 0, 0
    brk: ChainBreak | None = None
    if start is not None and start[0] > 0:
        with store.reader() as session:
            pinned = session.get(AuditEvent, start[0])
        if pinned is None or pinned.hash != start[1]:
            return ChainReport(events=0, head_seq=start[0], head_hash=start[1], first_break=ChainBreak(
                start[0], "differs from the signed checkpoint: the chain was rewritten" if pinned else
                "is missing, but a signed checkpoint names it: events were removed"))
        prev, last_seq = start[1], start[0]
    for seq, time, actor, action, obj, before, after, details, prev_hash, h in _rows(store, last_seq if start else -(2**62)):
        count += 1
        if brk is None:
            if seq != last_seq + 1:
                brk = ChainBreak(last_seq + 1, f"event {last_seq + 1} is missing (next is {seq}): deleted or renumbered")
            elif prev_hash != prev:
                brk = ChainBreak(seq, "does not point at the event before it: events were inserted, deleted or reordered")
            elif event_hash(seq, time, actor, action, obj, before, after, details, prev_hash) != h:
                brk = ChainBreak(seq, "its content does not match its hash: the event was edited")
            elif seq in wanted and h != wanted[seq]:
                brk = ChainBreak(seq, "differs from the signed checkpoint: the chain was rewritten")
        prev, last_seq = h, seq
    last_pin = max(wanted, default=0)
    if brk is None and last_pin > last_seq:
        brk = ChainBreak(last_pin, f"the signed checkpoint names event {last_pin}, but the chain ends at {last_seq}: "
                                   "events were removed")
    return ChainReport(events=count, head_seq=last_seq, head_hash=prev, first_break=brk)


def head(store: Store) -> tuple[int, str]:
    with store.reader() as session:
        return _head(session)


def log(
    store: Store, *, action: str | None = None, actor: str | None = None, object_prefix: str | None = None,
    since: str | None = None, limit: int | None = None,
) -> list[AuditEvent]:
    """Events, oldest first, filtered by action, actor, object prefix and time."""
    query = select(AuditEvent)
    if action:
        query = query.where(AuditEvent.action == action)
    if actor:
        query = query.where(AuditEvent.actor == actor)
    if object_prefix:
        query = query.where(col(AuditEvent.object).startswith(object_prefix))
    if since:
        query = query.where(AuditEvent.time >= since)
    query = query.order_by(col(AuditEvent.seq))
    if limit:
        query = query.order_by(None).order_by(col(AuditEvent.seq).desc()).limit(limit)
    with store.reader() as session:
        events = list(session.exec(query))
    return sorted(events, key=lambda e: e.seq)
