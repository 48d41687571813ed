"""The inference service: API clients (hashed tokens) and the inference records monitoring reads.

Revision ID: 0040_api
"""

import sqlalchemy as sa
from alembic import op

from qms.store.append_only import protect, record_columns

revision = "0040_api"
down_revision = "0001_foundation"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "api_client",
        *record_columns(),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("token_sha256", sa.String(64), nullable=False),
        sa.Column("models", sa.Text(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
    )
    op.create_index("ix_api_client_name", "api_client", ["name"])
    op.create_index("ix_api_client_token_sha256", "api_client", ["token_sha256"])
    op.create_table(
        "api_inference",
        *record_columns(),
        sa.Column("request_id", sa.String(32), nullable=False),
        sa.Column("client", sa.String(100), nullable=False),
        sa.Column("model_ref", sa.String(160), nullable=False),
        sa.Column("model_digest", sa.String(64), nullable=False),
        sa.Column("input_sha256", sa.String(64), nullable=False),
        sa.Column("pseudonyms", sa.Text(), nullable=False),
        sa.Column("inputs", sa.Text(), nullable=False),
        sa.Column("output", sa.Text(), nullable=False),
        sa.Column("latency_ms", sa.Float(), nullable=False),
    )
    op.create_index("ix_api_inference_request_id", "api_inference", ["request_id"])
    op.create_index("ix_api_inference_model_ref", "api_inference", ["model_ref"])
    protect("api_client")
    protect("api_inference")


def downgrade() -> None:
    raise NotImplementedError("records are append-only: the schema is never downgraded")
