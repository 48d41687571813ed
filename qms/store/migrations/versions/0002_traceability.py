"""Traceability: test runs, test results, link reviews.

Revision ID: 0002_traceability
"""

import sqlalchemy as sa
from alembic import op

from qms.store.append_only import protect, record_columns

revision = "0002_traceability"
down_revision = "0001_foundation"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "test_run", *record_columns(),
        sa.Column("device", sa.String(300), nullable=False),
        sa.Column("commit", sa.String(64)),
        sa.Column("dirty", sa.Boolean(), nullable=False),
        sa.Column("started_at", sa.String(32), nullable=False),
        sa.Column("finished_at", sa.String(32), nullable=False),
        sa.Column("python", sa.String(200), nullable=False),
        sa.Column("platform", sa.String(300), nullable=False),
        sa.Column("packages", sa.Text(), nullable=False),
        sa.Column("unlinked", sa.Text(), nullable=False),
        sa.Column("exit_status", sa.Integer(), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("report_digest", sa.String(64), nullable=False),
    )
    op.create_index("ix_test_run_device", "test_run", ["device"])
    op.create_index("ix_test_run_commit", "test_run", ["commit"])
    op.create_table(
        "test_result", *record_columns(),
        sa.Column("run_id", sa.String(32), sa.ForeignKey("test_run.id"), nullable=False),
        sa.Column("nodeid", sa.Text(), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("duration", sa.Float(), nullable=False),
        sa.Column("verifies", sa.Text(), nullable=False),
        sa.Column("docstring", sa.Text(), nullable=False),
    )
    op.create_index("ix_test_result_run_id", "test_result", ["run_id"])
    op.create_table(
        "link_review", *record_columns(),
        sa.Column("item_id", sa.String(200), nullable=False),
        sa.Column("parent_id", sa.String(200), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("previous", sa.String(64)),
        sa.Column("actor", sa.String(200), nullable=False),
    )
    op.create_index("ix_link_review_item_id", "link_review", ["item_id"])
    for table in ("test_run", "test_result", "link_review"):
        protect(table)


def downgrade() -> None:
    raise NotImplementedError("records are append-only: the schema is never downgraded")
