"""Alembic, driven from code: the migration scripts ship inside the package.

Each capability adds its tables in its own revision branching from the foundation, so
the schema has several heads; `upgrade` takes them all.
"""

from __future__ import annotations

from importlib.resources import files

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine
from sqlalchemy.engine import Connection

__all__ = ["current_revisions", "head_revisions", "known_revisions", "upgrade"]


def _config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(files("qms.store") / "migrations"))
    return cfg


def known_revisions() -> set[str]:
    return {rev.revision for rev in ScriptDirectory.from_config(_config()).walk_revisions()}


def head_revisions() -> set[str]:
    """The newest revision of every capability's branch: what a current store is at."""
    return set(ScriptDirectory.from_config(_config()).get_heads())


def current_revisions(conn: Connection) -> set[str]:
    return set(MigrationContext.configure(conn).get_current_heads())


def upgrade(engine: Engine) -> None:
    cfg = _config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "heads")
