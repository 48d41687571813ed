"""Entry point of `qms`: global options, command discovery, and the one error edge."""

from __future__ import annotations

import importlib
import pkgutil
import sys
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


def _version(value: bool) -> None:
    if value:
        typer.echo(f"qms {__version__}")
        raise typer.Exit()


def _main(
    ctx: typer.Context,
    project: Annotated[Path, typer.Option("--project", "-C", help="the device project's directory")] = Path("."),
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True, help="print the version")] = False,
) -> None:
    ctx.obj = Invocation(project)


_ALIASES = {"verify-signature": "sign"}  # commands registered by a module of another name


def command_modules() -> list[str]:
    """Names of the command modules, found without importing them."""
    return sorted(m.name for m in pkgutil.iter_modules(commands.__path__))


def make_app(modules: list[str] | None = None) -> typer.Typer:
    """The `qms` application with the given command modules (all when None)."""
    app = typer.Typer(
        cls=_Group, name="qms", no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
        help="Validation and release of medical-imaging AI under design control.",
    )
    app.callback()(_main)
    for name in command_modules() if modules is None else modules:
        importlib.import_module(f"{commands.__name__}.{name}").register(app)
    return app


def _selected(argv: list[str]) -> list[str] | None:
    """The one module an invocation needs, so `qms audit log` does not import torch; None for all."""
    args = iter(argv)
    for arg in args:
        if arg in ("-C", "--project"):
            next(args, None)
        elif not arg.startswith("-"):
            module = _ALIASES.get(arg, arg.replace("-", "_"))
            return [module] if module in command_modules() else None
    return [] if "--version" in argv else None


def __getattr__(name: str) -> typer.Typer:
    """`qms.cli.main.app`: the full application, for tests and documentation tools."""
    if name == "app":
        return make_app()
    raise AttributeError(name)


def run() -> None:
    """Console-script entry; usage errors exit 2, as every usage error does."""
    make_app(_selected(sys.argv[1:]))()
