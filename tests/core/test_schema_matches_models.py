"""The migrations create exactly the tables and columns the SQLModel record classes declare."""

from __future__ import annotations

import importlib

from sqlalchemy import inspect
from sqlmodel import SQLModel

from qms.store import Store

RECORD_MODULES = ["qms.store.records", "qms.traceability.records", "qms.models.records", "qms.signing.records",
                  "qms.validation.records", "qms.release_steps", "qms.tool_validation",
                  "qms.api.records", "qms.web.records"]


def test_migrated_schema_matches_record_classes(store: Store) -> None:
    """Every record table exists after migration with the same columns as its class: no drift either way."""
    for name in RECORD_MODULES:
        importlib.import_module(name)
    inspector = inspect(store.engine)
    db_tables = set(inspector.get_table_names()) - {"alembic_version"}
    model_tables = set(SQLModel.metadata.tables)
    assert db_tables == model_tables
    for table in model_tables:
        db_columns = {c["name"] for c in inspector.get_columns(table)}
        assert db_columns == set(SQLModel.metadata.tables[table].columns.keys()), table
