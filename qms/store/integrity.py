"""The database's own consistency check: a damaged page is a finding, not a healthy store.

The audit chain proves what the records say; it reads each row once, in order, and so
cannot see a damaged index or a page no query touched. SQLite checks every page and
index (`PRAGMA integrity_check`); PostgreSQL has no single equivalent, so every table is
read whole and, where the `amcheck` extension is installed, every B-tree index checked.
"""

from __future__ import annotations

from sqlalchemy import inspect, text
from sqlalchemy.exc import DBAPIError

from qms.findings import Finding
from qms.store.engine import Store

__all__ = ["CHECK", "check_integrity"]

CHECK = "store-integrity"
_HINT = ("stop writing to this store and restore it from your latest backup; then run `qms audit verify` "
         "against your last signed checkpoint (`--against`)")
_SHOWN = 5  # SQLite lists every damaged row; the first few locate the damage


def _driver_text(exc: DBAPIError) -> str:
    """The driver's own first line, without SQLAlchemy's statement and link."""
    return str(exc.orig).strip().splitlines()[0] if exc.orig is not None else type(exc).__name__


def _sqlite(store: Store) -> list[str]:
    with store.engine.connect() as conn:
        lines = [str(r[0]) for r in conn.exec_driver_sql("PRAGMA integrity_check")]
    if lines == ["ok"]:
        return []
    return [p.strip() for line in lines for p in line.splitlines() if p.strip() and not p.startswith("***")]


def _postgresql(store: Store) -> list[str]:
    problems: list[str] = []
    with store.engine.connect() as conn:
        tables = inspect(conn).get_table_names()
        for table in tables:
            try:
                for _ in conn.execution_options(stream_results=True).execute(text(f'SELECT * FROM "{table}"')):
                    pass
            except DBAPIError as exc:
                problems.append(f"table {table} cannot be read: {_driver_text(exc)}")
                conn.rollback()
        if conn.execute(text("SELECT 1 FROM pg_extension WHERE extname = 'amcheck'")).first() is None:
            return problems
        indexes = conn.execute(text(
            "SELECT c.oid, c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
            "JOIN pg_am a ON a.oid = c.relam JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE a.amname = 'btree' AND n.nspname = current_schema()")).all()
        for oid, name in indexes:
            try:
                conn.execute(text("SELECT bt_index_check(:oid)"), {"oid": oid})
            except DBAPIError as exc:
                problems.append(f"index {name} is damaged: {_driver_text(exc)}")
                conn.rollback()
    return problems


def check_integrity(store: Store) -> tuple[Finding, ...]:
    """Every page and index of the store as the database itself judges them: one finding when damaged, else none."""
    try:
        problems = _sqlite(store) if store.is_sqlite else _postgresql(store)
    except DBAPIError as exc:
        problems = [f"the integrity check could not run: {_driver_text(exc)}"]
    if not problems:
        return ()
    more = f"; and {len(problems) - _SHOWN} more" if len(problems) > _SHOWN else ""
    reason = f"the database is damaged ({len(problems)} problem(s)): {'; '.join(problems[:_SHOWN])}{more}"
    return (Finding(CHECK, store.display_url, reason, _HINT),)
