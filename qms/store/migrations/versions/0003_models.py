"""Models: registered versions, their stage changes and the training runs that made them.

Revision ID: 0003_models
"""

import sqlalchemy as sa
from alembic import op

from qms.store.append_only import protect, record_columns

revision = "0003_models"
down_revision = "0001_foundation"
branch_labels = None
depends_on = None

_TABLES = ("model_version", "model_stage", "model_training_run")


def upgrade() -> None:
    op.create_table(
        "model_version", *record_columns(),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("version", sa.String(50), nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("format", sa.String(20), nullable=False),
        sa.Column("labels", sa.Text(), nullable=False),
        sa.Column("files", sa.Text(), nullable=False),
        sa.Column("card", sa.Text(), nullable=False),
        sa.Column("card_digest", sa.String(64), nullable=False),
        sa.Column("lineage", sa.Text(), nullable=False),
        sa.Column("location", sa.Text(), nullable=False),
        sa.Column("registered_by", sa.String(200), nullable=False),
        sa.UniqueConstraint("name", "version", name="uq_model_version_name_version"),
    )
    op.create_index("ix_model_version_name", "model_version", ["name"])
    op.create_index("ix_model_version_digest", "model_version", ["digest"])
    op.create_table(
        "model_stage", *record_columns(),
        sa.Column("model_version_id", sa.String(32), sa.ForeignKey("model_version.id"), nullable=False),
        sa.Column("stage", sa.String(20), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("release_id", sa.String(64)),
        sa.Column("evidence", sa.Text()),
    )
    op.create_index("ix_model_stage_model_version_id", "model_stage", ["model_version_id"])
    op.create_table(
        "model_training_run", *record_columns(),
        sa.Column("config", sa.Text(), nullable=False),
        sa.Column("config_digest", sa.String(64), nullable=False),
        sa.Column("seed", sa.Integer(), nullable=False),
        sa.Column("manifest_sha256", sa.String(64), nullable=False),
        sa.Column("git_commit", sa.String(40)),
        sa.Column("git_dirty", sa.Boolean(), nullable=False),
        sa.Column("parent", sa.String(160)),
        sa.Column("parent_digest", sa.String(64)),
        sa.Column("output_digest", sa.String(64), nullable=False),
        sa.Column("metrics", sa.Text(), nullable=False),
        sa.Column("environment", sa.Text(), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
    )
    op.create_index("ix_model_training_run_output_digest", "model_training_run", ["output_digest"])
    for table in _TABLES:
        protect(table)


def downgrade() -> None:
    raise NotImplementedError("records are append-only: the schema is never downgraded")
