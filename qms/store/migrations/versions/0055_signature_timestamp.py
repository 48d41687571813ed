"""Signing: a signature record keeps the RFC 3161 timestamp token over its envelope, its trusted time (#14 item 3).

Revision ID: 0055_signature_timestamp
"""

import sqlalchemy as sa
from alembic import op

revision = "0055_signature_timestamp"
down_revision = "0004_signing"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("signature", sa.Column("timestamp", sa.Text()))


def downgrade() -> None:
    raise NotImplementedError("records are append-only: the schema is never downgraded")
