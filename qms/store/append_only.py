"""Database triggers that refuse UPDATE and DELETE on a record table.

The library never updates or deletes; the triggers make other tools fail loudly too. A
user with raw database access can drop them: the audit chain and its signed checkpoints
still catch what such a user changes.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

__all__ = ["protect", "record_columns"]


def protect(table: str) -> None:
    """Make `table` append-only in the database itself (call from a migration)."""
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
            )
    else:
        op.execute(
            "CREATE OR REPLACE FUNCTION qms_refuse_change() RETURNS trigger AS $$ BEGIN "
            "RAISE EXCEPTION '% is append-only', TG_TABLE_NAME; END; $$ LANGUAGE plpgsql"
        )
        op.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION qms_refuse_change()"
        )


def record_columns() -> list[sa.Column[object]]:
    """The columns of `qms.store.Record` that every record table starts with (for migrations)."""
    return [
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("supersedes", sa.String(32)),
    ]
