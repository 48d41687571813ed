"""Validation: dataset manifests, protocol locks and validation runs.

Revision ID: 0005_validation
"""

import sqlalchemy as sa
from alembic import op

from qms.store.append_only import protect, record_columns

revision = "0005_validation"
down_revision = "0001_foundation"
branch_labels = None
depends_on = None

_TABLES = ("validation_dataset", "validation_protocol_lock", "validation_run")


def upgrade() -> None:
    op.create_table(
        "validation_dataset", *record_columns(),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("split", sa.String(50), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False, unique=True),
        sa.Column("files", sa.Integer(), nullable=False),
        sa.Column("patients", sa.Integer(), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("manifest", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
    )
    op.create_table(
        "validation_protocol_lock", *record_columns(),
        sa.Column("protocol_id", sa.String(100), nullable=False),
        sa.Column("protocol_version", sa.String(50), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("text_sha256", sa.String(64), nullable=False),
        sa.Column("content_sha256", sa.String(64), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("model_ref", sa.String(160), nullable=False),
        sa.Column("model_sha256", sa.String(64), nullable=False),
        sa.Column("manifest_path", sa.Text(), nullable=False),
        sa.Column("manifest_sha256", sa.String(64), nullable=False),
        sa.Column("training_manifests", sa.Text(), nullable=False),
        sa.Column("lock_sha256", sa.String(64), nullable=False),
        sa.Column("locked_by", sa.String(200), nullable=False),
        sa.Column("signature_id", sa.String(32)),
        sa.UniqueConstraint("protocol_id", "protocol_version", name="uq_protocol_lock_id_version"),
    )
    op.create_index("ix_validation_protocol_lock_protocol_id", "validation_protocol_lock", ["protocol_id"])
    op.create_index("ix_validation_protocol_lock_manifest_sha256", "validation_protocol_lock", ["manifest_sha256"])
    op.create_table(
        "validation_run", *record_columns(),
        sa.Column("lock_id", sa.String(32), sa.ForeignKey("validation_protocol_lock.id"), nullable=False),
        sa.Column("protocol_key", sa.String(160), nullable=False),
        sa.Column("model_ref", sa.String(160), nullable=False),
        sa.Column("model_sha256", sa.String(64), nullable=False),
        sa.Column("manifest_sha256", sa.String(64), nullable=False),
        sa.Column("dataset_use", sa.Integer(), nullable=False),
        sa.Column("verdict", sa.String(10), nullable=False),
        sa.Column("predictions_sha256", sa.String(64), nullable=False),
        sa.Column("result_sha256", sa.String(64), nullable=False),
        sa.Column("result", sa.Text(), nullable=False),
        sa.Column("out_dir", sa.Text(), nullable=False),
        sa.Column("environment", sa.Text(), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
    )
    op.create_index("ix_validation_run_lock_id", "validation_run", ["lock_id"])
    op.create_index("ix_validation_run_protocol_key", "validation_run", ["protocol_key"])
    op.create_index("ix_validation_run_manifest_sha256", "validation_run", ["manifest_sha256"])
    for table in _TABLES:
        protect(table)


def downgrade() -> None:
    raise NotImplementedError("records are append-only: the schema is never downgraded")
