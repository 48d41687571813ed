"""Traceability: each test result keeps the fingerprint of the test function's source, so a gutted test is a suspect link.

Revision ID: 0016_test_source
"""

import sqlalchemy as sa
from alembic import op

revision = "0016_test_source"
down_revision = "0002_traceability"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("test_result", sa.Column("source_sha256", sa.String(64)))


def downgrade() -> None:
    raise NotImplementedError("records are append-only: the schema is never downgraded")
