"""Tool validation: one append-only row per `qms selftest` run (ISO 13485 §4.1.6, 21 CFR 11.10(a)).

Revision ID: 0030_tool_validation
"""

import sqlalchemy as sa
from alembic import op

from qms.store.append_only import protect, record_columns

revision = "0030_tool_validation"
down_revision = "0001_foundation"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "tool_validation",
        *record_columns(),
        sa.Column("qmskit_version", sa.String(64), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("environment", sa.Text(), nullable=False),
        sa.Column("passed", sa.Boolean(), nullable=False),
        sa.Column("checks", sa.Text(), nullable=False),
        sa.Column("report_sha256", sa.String(64), nullable=False),
        sa.Column("signature_id", sa.String(32), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
    )
    op.create_index("ix_tool_validation_fingerprint", "tool_validation", ["fingerprint"])
    protect("tool_validation")


def downgrade() -> None:
    raise NotImplementedError("records are append-only: the schema is never downgraded")
