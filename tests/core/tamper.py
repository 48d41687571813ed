"""Raw-SQL tampering of the audit table, as someone with database access could do it."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import text

from qms.audit import event_hash
from qms.store import Store


def drop_protection(store: Store) -> None:
    """Remove the append-only triggers first: a determined insider can."""
    with store.engine.begin() as conn:
        if store.is_sqlite:
            conn.execute(text("DROP TRIGGER IF EXISTS audit_event_no_update"))
            conn.execute(text("DROP TRIGGER IF EXISTS audit_event_no_delete"))
        else:
            conn.execute(text("DROP TRIGGER IF EXISTS audit_event_append_only ON audit_event"))


def execute(store: Store, sql: str, **params: object) -> None:
    with store.engine.begin() as conn:
        conn.execute(text(sql), params)


def rewrite_chain(store: Store, new_actor: str) -> None:
    """Rewrite every event's actor and recompute every hash: a consistent forged chain."""
    with store.engine.begin() as conn:
        rows = conn.execute(text(
            "SELECT seq, time, action, object, before_digest, after_digest, details FROM audit_event ORDER BY seq"
        )).all()
        prev = "0" * 64
        conn.execute(text("DELETE FROM audit_event"))
        for seq, time, action, obj, before, after, details in rows:
            h = event_hash(seq, time, new_actor, action, obj, before, after, details, prev)
            conn.execute(text(
                "INSERT INTO audit_event (seq, time, actor, action, object, before_digest, after_digest, details, "
                "prev_hash, hash) VALUES (:s, :t, :a, :ac, :o, :b, :af, :d, :p, :h)"
            ), {"s": seq, "t": time, "a": new_actor, "ac": action, "o": obj, "b": before, "af": after, "d": details,
                "p": prev, "h": h})
            prev = h


Row = tuple[str, str, str, str, str | None, str | None, str]
"""An event as a forger edits it: time, actor, action, object, before, after, details."""


def forge(store: Store, edit: Callable[[list[Row]], list[Row]]) -> None:
    """Edit the list of events (delete, insert, rewrite), then renumber and re-hash all: a consistent forged chain."""
    with store.engine.begin() as conn:
        rows: list[Row] = [tuple(r) for r in conn.execute(text(  # type: ignore[misc]
            "SELECT time, actor, action, object, before_digest, after_digest, details FROM audit_event ORDER BY seq"
        )).all()]
        conn.execute(text("DELETE FROM audit_event"))
        prev = "0" * 64
        for seq, (time, actor, action, obj, before, after, details) in enumerate(edit(rows), 1):
            h = event_hash(seq, time, actor, action, obj, before, after, details, prev)
            conn.execute(text(
                "INSERT INTO audit_event (seq, time, actor, action, object, before_digest, after_digest, details, "
                "prev_hash, hash) VALUES (:s, :t, :a, :ac, :o, :b, :af, :d, :p, :h)"
            ), {"s": seq, "t": time, "a": actor, "ac": action, "o": obj, "b": before, "af": after, "d": details,
                "p": prev, "h": h})
            prev = h


def drop_table_protection(store: Store, table: str) -> None:
    """Remove one record table's append-only triggers, as an insider with database access can."""
    with store.engine.begin() as conn:
        if store.is_sqlite:
            conn.execute(text(f"DROP TRIGGER IF EXISTS {table}_no_update"))
            conn.execute(text(f"DROP TRIGGER IF EXISTS {table}_no_delete"))
        else:
            conn.execute(text(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}"))
