"""What a command needs from its invocation: the project, the store, the actor.

The CLI reads the environment here (QMS_DATABASE_URL, QMS_USER, QMS_HOME) so that the
library never does. The actor is the identity of an unlocked session where there is one.
"""

from __future__ import annotations

import getpass
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from qms.errors import QmsError
from qms.home import qms_home

__all__ = ["actor", "audit_actor", "authenticated_actor", "database_url", "engine", "EngineOpt", "Invocation", "invocation",
           "project", "qms_home", "seal_recorded", "store", "WorkersOpt"]

if TYPE_CHECKING:  # imported where used: `qms --version` and `--help` need neither pydantic nor sqlalchemy
    from qms.compute.engine import Engine
    from qms.config import Project
    from qms.store import Store


@dataclass
class Invocation:
    """The global options of one invocation: the project, and whether to show internal tracebacks."""

    project_dir: Path
    debug: bool = False


def invocation(ctx: typer.Context) -> Invocation:
    root = ctx.find_root()
    obj = root.obj
    if not isinstance(obj, Invocation):
        obj = Invocation(Path.cwd())
        root.obj = obj
    return obj


def project(ctx: typer.Context) -> Project:
    """The project holding the working folder (or -C DIR), found from any folder inside it."""
    from qms.config import find_root, load_project
    from qms.errors import ConfigError

    given = invocation(ctx).project_dir
    if not given.is_dir():
        raise ConfigError("the folder given with -C/--project " + ("is a file" if given.exists() else "does not exist"),
                          where=str(given), hint="give the project's folder, or leave out -C to use the current folder")
    return load_project(find_root(given))


EngineOpt = Annotated[str | None, typer.Option(
    "--engine", help="where per-file work runs: local or ray (default: [tool.qms.compute] engine, else local)")]


WorkersOpt = Annotated[int | None, typer.Option(
    "--workers", min=1, help="worker processes (local engine, local Ray); default: one per usable core, 1 runs in "
                             "this process")]


def engine(proj: Project, chosen: str | None, workers: int | None = 1) -> Engine:
    """The engine of `--engine` or of `[tool.qms.compute]`; `workers` (None: the usable cores) sizes a local pool or
    a local Ray."""
    from qms.compute.local import usable_cores
    from qms.compute.settings import ComputeSettings, open_engine

    cores = usable_cores()
    return open_engine(ComputeSettings.from_config(proj.config.compute, chosen),
                       cores if workers is None else min(workers, cores))


def database_url(proj: Project) -> str:
    return proj.database_url(os.environ.get("QMS_DATABASE_URL"))


def store(proj: Project, *, create: bool = True) -> Store:
    from qms import checkpoint_log
    from qms.store import open_store

    opened = open_store(database_url(proj), create=create)
    checkpoint_log.attach(opened, qms_home(), proj.records_dir)  # every signature is checkpointed into the project's log
    _OPENED.append(opened)
    return opened


_OPENED: list[Store] = []
"""The stores this invocation opened: `seal_recorded` seals those whose chain grew."""


def seal_recorded() -> None:
    """When a command ends: seal the events it (or a child, such as `qms test`'s pytest) appended, so the gate finds
    its evidence witnessed by the checkpoint key. The events are recorded already, so a seal refused is a warning
    (the gate names those events unwitnessed), never the command's failure."""
    if not _OPENED:  # nothing opened (`--help`, `--version`, `qms new`): no store library to load
        return
    from qms import checkpoint_log
    from qms.cli.output import warn

    while _OPENED:
        try:
            checkpoint_log.after_recording(_OPENED.pop())
        except QmsError as exc:
            warn(f"the events this command recorded are witnessed by no signed checkpoint: {exc.diagnostics()}")


def actor() -> str:
    """Who runs the command: the identity unlocked in this session, else `unverified:` QMS_USER or the OS login.

    Only a signing's `invoked_by` detail and a default signer id use it (the signer's passphrase
    proves the signer); an event's actor is `audit_actor`.
    """
    from qms.actors import unverified
    from qms.signing.session import session_actor

    current = session_actor(qms_home())
    return current.user_id if current else unverified(_claimed())


def _claimed() -> str:
    return os.environ.get("QMS_USER") or getpass.getuser()


def audit_actor(proj: Project, store: Store) -> str:
    """The actor of the events a state-changing command records (21 CFR 11.10(e)): the unlocked identity.

    Without an unlocked session the command is refused once the project has an enrolled
    identity (or `require_authenticated_actor` says so); before that the claimed name is
    recorded as `unverified:` and the gate reports it (`qms.signing.attribution`).
    """
    from qms.signing.attribution import attributed
    from qms.signing.session import session_actor

    return attributed(store, session_actor(qms_home()), _claimed(), proj.config.require_authenticated_actor)


def authenticated_actor() -> str:
    """The identity unlocked in this session with its passphrase; without one, a usage error."""
    from qms.signing.session import session_actor

    current = session_actor(qms_home())
    if current is None:
        raise QmsError("this action needs an authenticated identity: no unlocked session (or it expired)",
                       hint="run `qms session unlock USER` (the passphrase is asked once for the session)")
    return current.user_id


def seal_chain(store: Store) -> None:
    """A signed checkpoint of the audit chain after a release-critical or power-granting event (#14 item 5), so
    that deleting or rewriting it later breaks a pinned event. `store` comes from `store`, attached to the project's log:
    the line witnesses only the events appended since it was opened, never an event forged before."""
    from qms import checkpoint_log

    checkpoint_log.after_critical(store)


