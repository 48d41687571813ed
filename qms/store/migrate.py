"""Alembic, driven from code: the migration scripts ship inside the package.

Each capability adds its tables in its own revision branching from the foundation, so
the schema has several heads; `upgrade` takes them all. Opening a store that is already
at every head (nearly every command) reads only the version rows and the scripts'
`revision` / `down_revision` lines, without importing alembic.
"""

from __future__ import annotations

import ast
from functools import cache
from importlib.resources import files
from typing import TYPE_CHECKING

from sqlalchemy import Engine, inspect, text
from sqlalchemy.engine import Connection

if TYPE_CHECKING:
    from alembic.config import Config

__all__ = ["current_revisions", "declared_heads", "head_revisions", "known_revisions", "upgrade"]

_VERSION_TABLE = "alembic_version"  # alembic's default, which env.py keeps


def _config() -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(files("qms.store") / "migrations"))
    return cfg


def known_revisions() -> set[str]:
    from alembic.script import ScriptDirectory

    return {rev.revision for rev in ScriptDirectory.from_config(_config()).walk_revisions()}


def head_revisions() -> set[str]:
    """The newest revision of every capability's branch: what a current store is at."""
    from alembic.script import ScriptDirectory

    return set(ScriptDirectory.from_config(_config()).get_heads())


def _literal(tree: ast.Module, name: str) -> object:
    """The value of a module-level `name = <literal>` (annotated or not); None when absent."""
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, value = node.targets[0], node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            target, value = node.target, node.value
        else:
            continue
        if isinstance(target, ast.Name) and target.id == name:
            return ast.literal_eval(value)
    return None


@cache
def declared_heads() -> frozenset[str]:
    """`head_revisions` read from the scripts' own `revision` and `down_revision` lines, without alembic.

    A revision is a head when no other script names it as its down revision (the scripts
    declare no `depends_on`; a test keeps this equal to alembic's heads).
    """
    revisions: set[str] = set()
    parents: set[str] = set()
    for script in (files("qms.store") / "migrations" / "versions").iterdir():
        if not script.name.endswith(".py") or script.name.startswith("_"):
            continue
        tree = ast.parse(script.read_text(encoding="utf-8"))
        revision, down = _literal(tree, "revision"), _literal(tree, "down_revision")
        if isinstance(revision, str):
            revisions.add(revision)
        parents.update([down] if isinstance(down, str) else down if isinstance(down, tuple | list) else [])
    return frozenset(revisions - parents)


def current_revisions(conn: Connection) -> set[str]:
    """The revisions the store's version table records (none in an empty database)."""
    if not inspect(conn).has_table(_VERSION_TABLE):
        return set()
    return {row[0] for row in conn.execute(text(f"SELECT version_num FROM {_VERSION_TABLE}"))}


def upgrade(engine: Engine) -> None:
    from alembic import command

    cfg = _config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "heads")
