"""Release: one append-only row per release step.

Revision ID: 0006_release
"""

import sqlalchemy as sa
from alembic import op

from qms.store.append_only import protect, record_columns

revision = "0006_release"
down_revision = "0001_foundation"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "release_step",
        *record_columns(),
        sa.Column("version", sa.String(64), nullable=False),
        sa.Column("step", sa.String(16), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("commit", sa.String(64), nullable=False),
        sa.Column("model", sa.String(200), nullable=False),
        sa.Column("plan_digest", sa.String(64), nullable=False),
        sa.Column("verdict_digest", sa.String(64), nullable=False),
        sa.Column("documents", sa.Text(), nullable=False),
        sa.Column("soup", sa.Text(), nullable=False),
        sa.Column("bundle_sha256", sa.String(64)),
    )
    op.create_index("ix_release_step_version", "release_step", ["version"])
    protect("release_step")


def downgrade() -> None:
    raise NotImplementedError("records are append-only: the schema is never downgraded")
