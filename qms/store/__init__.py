"""The record store: append-only SQLModel records on SQLite or PostgreSQL.

Records are never updated or deleted through this library (21 CFR Part 11 §11.10(c),
(e)); a correction is a new record whose `supersedes` names the old one. The database
enforces the same with triggers, so a stray UPDATE from another tool fails too.
"""

from qms.store.engine import Store, open_store
from qms.store.records import Record, utcnow

__all__ = ["Record", "Store", "open_store", "utcnow"]
