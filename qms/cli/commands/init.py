"""`qms init`."""

from __future__ import annotations

import os
from typing import Annotated

import typer

from qms.cli import context
from qms.cli.output import JsonOpt, emit_json, ok
from qms.scaffold import init_project


def register(app: typer.Typer) -> None:
    @app.command("init")
    def init(
        ctx: typer.Context,
        device: Annotated[str, typer.Option(help="device name for the evidence documents")] = "Untitled device",
        intended_use: Annotated[str, typer.Option(help="the intended use statement")] = "To be written.",
        safety_class: Annotated[str, typer.Option(help="IEC 62304 software safety class: A, B or C")] = "B",
        manufacturer: Annotated[str, typer.Option(help="legal manufacturer")] = "unspecified manufacturer",
        json_out: JsonOpt = False,
    ) -> None:
        """Scaffold a device project: configuration, design/, protocols/, tests/ and the record store."""
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
