"""Signing: users, certificates, revocations and signatures.

Revision ID: 0004_signing
"""

import sqlalchemy as sa
from alembic import op

from qms.store.append_only import protect, record_columns

revision = "0004_signing"
down_revision = "0001_foundation"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "signing_user", *record_columns(),
        sa.Column("user_id", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("role", sa.String(32), nullable=False),
    )
    op.create_index("ix_signing_user_user_id", "signing_user", ["user_id"])
    op.create_table(
        "signing_certificate", *record_columns(),
        sa.Column("user_id", sa.String(64), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False, unique=True),
        sa.Column("serial", sa.String(64), nullable=False),
        sa.Column("subject", sa.String(400), nullable=False),
        sa.Column("issuer", sa.String(400), nullable=False),
        sa.Column("not_before", sa.String(32), nullable=False),
        sa.Column("not_after", sa.String(32), nullable=False),
        sa.Column("pem", sa.Text(), nullable=False),
    )
    op.create_index("ix_signing_certificate_user_id", "signing_certificate", ["user_id"])
    op.create_table(
        "signing_revocation", *record_columns(),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("user_id", sa.String(64), nullable=False),
        sa.Column("revoked_at", sa.String(32), nullable=False),
        sa.Column("reason", sa.String(200), nullable=False),
    )
    op.create_index("ix_signing_revocation_fingerprint", "signing_revocation", ["fingerprint"])
    op.create_table(
        "signature", *record_columns(),
        sa.Column("user_id", sa.String(64), nullable=False),
        sa.Column("printed_name", sa.String(200), nullable=False),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("meaning", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(200)),
        sa.Column("signed_at", sa.String(32), nullable=False),
        sa.Column("object_ref", sa.String(300), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("output_sha256", sa.String(64)),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("interactive", sa.Boolean(), nullable=False),
        sa.Column("cert_fingerprint", sa.String(64), nullable=False),
        sa.Column("envelope", sa.Text(), nullable=False),
    )
    op.create_index("ix_signature_user_id", "signature", ["user_id"])
    op.create_index("ix_signature_object_ref", "signature", ["object_ref"])
    op.create_index("ix_signature_sha256", "signature", ["sha256"])
    for table in ("signing_user", "signing_certificate", "signing_revocation", "signature"):
        protect(table)


def downgrade() -> None:
    raise NotImplementedError("records are append-only: the schema is never downgraded")
