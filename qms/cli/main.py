"""Entry point of `qms`: global options, command discovery, and the one error edge."""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from qms import __version__
from qms.cli import commands
from qms.cli.context import Invocation
from qms.cli.output import emit_json, err_console, json_mode
from qms.errors import QmsError


class _Group(TyperGroup):
    """Catches QmsError once, at the edge: a diagnosis, never a traceback (STYLE habit 6)."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except QmsError as exc:
            if json_mode.get():
                emit_json(exc.to_json())
            err_console.print(f"[red]error:[/red] {exc.diagnostics()}", markup=True, soft_wrap=True)
            raise typer.Exit(int(exc.exit_code)) from None


app = typer.Typer(
    cls=_Group, name="qms", no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
    help="Validation and release of medical-imaging AI under design control.",
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"qms {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    ctx: typer.Context,
    project: Annotated[Path, typer.Option("--project", "-C", help="the device project's directory")] = Path("."),
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True, help="print the version")] = False,
) -> None:
    ctx.obj = Invocation(project)


for _info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
    importlib.import_module(f"{commands.__name__}.{_info.name}").register(app)


def run() -> None:
    """Console-script entry; usage errors exit 2, as every usage error does."""
    app()
