"""`qms doctor`: installation, system tools, configuration, record store and keys, each problem with its fix."""

from __future__ import annotations

import os

import typer

from qms.cli import context
from qms.cli.output import JsonOpt, emit_json, fail, ok, warn
from qms.errors import ExitCode

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    @app.command("doctor")
    def doctor(ctx: typer.Context, json_out: JsonOpt = False) -> None:
        """Check what qmskit needs here; exit 1 when something must be fixed (reads QMS_HOME, QMS_DATABASE_URL, PATH)."""
        from qms.doctor import diagnose

        areas = diagnose(context.invocation(ctx).project_dir, context.qms_home(), context.database_url,
                         os.environ.get("PATH"))
        if json_out:
            emit_json([a.to_json() for a in areas])
        else:
            for area in areas:
                if area.ok and not area.findings:
                    ok(f"{area.name}: {area.fine}")
                for f in area.findings:
                    (fail if f.blocking else warn)(f"{area.name}: {f.text()}")
        if not all(a.ok for a in areas):
            raise typer.Exit(int(ExitCode.CHECK_FAILED))
