"""Foundation: store identity and the hash-chained audit trail.

Revision ID: 0001_foundation
"""

import sqlalchemy as sa
from alembic import op

from qms.store.append_only import protect

revision = "0001_foundation"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "store_info",
        sa.Column("store_id", sa.String(32), primary_key=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "audit_event",
        sa.Column("seq", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("time", sa.String(32), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("action", sa.String(100), nullable=False),
        sa.Column("object", sa.String(300), nullable=False),
        sa.Column("before_digest", sa.String(64)),
        sa.Column("after_digest", sa.String(64)),
        sa.Column("details", sa.Text(), nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False, unique=True),
    )
    op.create_index("ix_audit_event_action", "audit_event", ["action"])
    op.create_index("ix_audit_event_object", "audit_event", ["object"])
    protect("store_info")
    protect("audit_event")


def downgrade() -> None:
    raise NotImplementedError("records are append-only: the schema is never downgraded")
