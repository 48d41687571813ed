"""`qms init`."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from qms.cli import context
from qms.cli.output import JsonOpt, emit_json, ok
from qms.errors import ConfigError
from qms.scaffold import init_from_example, init_project

__all__ = ["enclosing_project", "register"]


def enclosing_project(root: Path) -> Path | None:
    """The configuration file of a device project in a folder above `root` (qms.toml or [tool.qms]), or None."""
    for folder in root.resolve().parents:
        if (folder / "qms.toml").is_file():
            return folder / "qms.toml"
        pyproject = folder / "pyproject.toml"
        try:
            if pyproject.is_file() and "[tool.qms]" in pyproject.read_text(encoding="utf-8"):
                return pyproject
        except (OSError, UnicodeDecodeError):
            continue
    return None


def register(app: typer.Typer) -> None:
    @app.command("init")
    def init(
        ctx: typer.Context,
        device: Annotated[str, typer.Option(help="device name for the evidence documents")] = "Untitled device",
        intended_use: Annotated[str, typer.Option(help="the intended use statement")] = "To be written.",
        safety_class: Annotated[str, typer.Option(help="IEC 62304 software safety class: A, B or C")] = "B",
        manufacturer: Annotated[str, typer.Option(help="legal manufacturer")] = "unspecified manufacturer",
        from_example: Annotated[bool, typer.Option("--from-example", help="copy the example device "
                                                   "(examples/cxr-triage) instead of an empty project")] = False,
        nested: Annotated[bool, typer.Option("--nested", help="create a separate project even though a folder above "
                                             "already holds one (refused without it)")] = False,
        json_out: JsonOpt = False,
    ) -> None:
        """Scaffold a device project: configuration, folders, release plan, SOUP list, anomaly register, a protocol, record store.

        The store is SQLite in .qms/ unless QMS_DATABASE_URL names another; its URL, without
        a password, is recorded as database_url in the configuration. Inside another project's
        folder it refuses (its files would become stray items of that project) unless --nested.
        """
        here = context.invocation(ctx).project_dir
        outer = enclosing_project(here)
        if outer is not None and not nested:
            raise ConfigError(f"already inside the device project configured in {outer}", where=str(here.resolve()),
                              hint=f"run qms commands from {outer.parent} (they find it from any subfolder); "
                                   "for a separate project here, pass --nested")
        if from_example:
            result = init_from_example(context.invocation(ctx).project_dir, actor=context.actor(),
                                       database_url=os.environ.get("QMS_DATABASE_URL") or None)
        else:
            result = init_project(
                context.invocation(ctx).project_dir, device=device, intended_use=intended_use,
                safety_class=safety_class.upper(), manufacturer=manufacturer, actor=context.actor(),
                database_url=os.environ.get("QMS_DATABASE_URL"),
            )
        if json_out:
            emit_json({"root": str(result.root), "config": str(result.config_file), "store": result.store_url,
                       "created": result.created})
            return
        ok(f"device project created in {result.root}")
        for item in result.created:
            typer.echo(f"  {item}")
        typer.echo(f"  record store: {result.store_url}")
