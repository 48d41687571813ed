"""`qms serve` sessions: hashed session tokens and their marks, shared by every server process on the store.

Revision ID: 0060_web_sessions
"""

import sqlalchemy as sa
from alembic import op

from qms.store.append_only import protect, record_columns

revision = "0060_web_sessions"
down_revision = "0001_foundation"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "web_session",
        *record_columns(),
        sa.Column("token_sha256", sa.String(64), nullable=False),
        sa.Column("user_id", sa.String(64), nullable=False),
        sa.Column("opened_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_web_session_token_sha256", "web_session", ["token_sha256"], unique=True)
    op.create_table(
        "web_session_mark",
        *record_columns(),
        sa.Column("session_id", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_web_session_mark_session_id", "web_session_mark", ["session_id"])
    protect("web_session")
    protect("web_session_mark")


def downgrade() -> None:
    raise NotImplementedError("records are append-only: the schema is never downgraded")
