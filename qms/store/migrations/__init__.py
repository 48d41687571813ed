"""Alembic migration scripts of the record store."""
