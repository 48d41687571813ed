"""Traceability: each test run keeps the set of tests it collected (which tests exist at its commit).

Revision ID: 0015_test_collected
"""

import sqlalchemy as sa
from alembic import op

revision = "0015_test_collected"
down_revision = "0002_traceability"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("test_run", sa.Column("collected", sa.Text()))


def downgrade() -> None:
    raise NotImplementedError("records are append-only: the schema is never downgraded")
