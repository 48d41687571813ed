"""Entry point of `qms`: global options, command discovery, and the one error edge."""

from __future__ import annotations

import importlib
import os
import pkgutil
import sys
import traceback
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.text import Text
from typer.core import TyperGroup

from qms.cli import commands
from qms.cli.environment import annotate, help_text
from qms.cli.context import Invocation, seal_recorded
from qms.cli.output import emit_json, err_console, json_requested
from qms.errors import ExitCode, QmsError

__all__ = ["command_modules", "make_app", "run"]

_HELP = """Validation and release of medical-imaging AI under design control.

Exit codes: 0 success, 1 a check failed, 2 a usage or configuration error, 3 an internal
error (a bug in qmskit; --debug or QMS_DEBUG=1 shows its traceback), 130 interrupted.
"""


class _Group(TyperGroup):
    """The one error edge: every exception ends here as a diagnosis and an exit code (STYLE habit 6).

    A QmsError is the user's to fix (its own exit code); click's usage errors and exits
    pass through to click; anything else is a bug in qmskit, reported in one line with a
    code of its own, its traceback only on request.
    """

    def invoke(self, ctx: Any) -> Any:  # typer's vendored click.Context, which typer does not export
        try:
            try:
                return super().invoke(ctx)
            finally:
                seal_recorded()  # whatever the exit, the evidence the command recorded is sealed
        except (typer.Exit, typer.TyperException):  # click's own exits and usage errors: click reports them
            raise
        except QmsError as exc:
            _diagnose(ctx, exc)
        except (typer.Abort, EOFError, KeyboardInterrupt) as exc:
            if isinstance(exc, EOFError) or isinstance(exc.__context__, EOFError):  # a prompt wraps both in Abort
                _diagnose(ctx, QmsError("the input ended where a value was asked for",
                                        hint="type it at the prompt, or set the environment variable the command documents"))
            err_console.print("interrupted", soft_wrap=True)
            raise typer.Exit(int(ExitCode.INTERRUPTED)) from None
        except Exception as exc:
            debug = isinstance(ctx.obj, Invocation) and ctx.obj.debug
            raise typer.Exit(int(_internal(exc, json=json_requested(ctx), debug=debug))) from None


def _diagnose(ctx: typer.Context, exc: QmsError) -> NoReturn:
    """Print a user's error (and its JSON with --json), then exit with its code."""
    if json_requested(ctx):
        emit_json(exc.to_json())
    err_console.print(Text.assemble(("error:", "red"), " ", exc.diagnostics()), soft_wrap=True)
    raise typer.Exit(int(exc.exit_code)) from None


def _internal(exc: BaseException, *, json: bool, debug: bool) -> ExitCode:
    """Report a bug in one line naming its type and place (never its message, which may hold a user's data)."""
    frames = traceback.extract_tb(exc.__traceback__)
    where = f"{Path(frames[-1].filename).name}:{frames[-1].lineno}" if frames else "unknown place"
    message = f"internal error in qmskit: {type(exc).__name__} in {frames[-1].name if frames else '?'} ({where})"
    hint = ("a bug, not a problem with your input: run again with --debug (`qms --debug <command> ...`, or "
            "QMS_DEBUG=1) for the traceback, and report it")
    if json:
        emit_json({"error": "InternalError", "message": message, "where": where, "hint": hint})
    if debug:
        sys.stderr.write("".join(traceback.format_exception(exc)))
    err_console.print(Text.assemble(("error:", "red"), " ", message, "\n  hint: ", hint), soft_wrap=True)
    return ExitCode.INTERNAL


def _version(value: bool) -> None:
    if value:
        from qms import __version__  # reads the installed metadata: only here

        typer.echo(f"qms {__version__}")
        raise typer.Exit()


def _main(
    ctx: typer.Context,
    project: Annotated[Path, typer.Option("--project", "-C", help="the device project's directory")] = Path("."),
    debug: Annotated[bool, typer.Option("--debug", envvar="QMS_DEBUG",
                                        help="on an internal error, print its traceback")] = False,
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True, help="print the version")] = False,
) -> None:
    ctx.obj = Invocation(project, debug)


_ALIASES = {"verify-signature": "sign"}  # commands registered by a module of another name


def command_modules() -> list[str]:
    """Names of the command modules, found without importing them."""
    return sorted(m.name for m in pkgutil.iter_modules(commands.__path__))


def make_app(modules: list[str] | None = None) -> typer.Typer:
    """The `qms` application with the given command modules (all when None)."""
    app = typer.Typer(
        cls=_Group, name="qms", no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
        rich_markup_mode=None,  # help text is plain: `[tool.qms]` in an option's help must print as written
        help=_HELP + "\n" + help_text(),
    )
    app.callback()(_main)
    for name in command_modules() if modules is None else modules:
        importlib.import_module(f"{commands.__name__}.{name}").register(app)
    annotate(app)
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


def _global_options_first(argv: list[str]) -> list[str]:
    """`--debug` is global but accepted after the command name too (`qms soup --debug`), up to a `--`."""
    end = argv.index("--") if "--" in argv else len(argv)
    if "--debug" not in argv[:end]:
        return argv
    return ["--debug", *(a for a in argv[:end] if a != "--debug"), *argv[end:]]


def __getattr__(name: str) -> typer.Typer:
    """`qms.cli.main.app`: the full application, for tests and documentation tools."""
    if name == "app":
        return make_app()
    raise AttributeError(name)


def run() -> None:
    """Console-script entry; usage errors exit 2, as every usage error does.

    A command module that fails to load is caught here, before there is an invocation to
    hold the options, so `--json` and `--debug` are looked for in the raw arguments.
    """
    argv = _global_options_first(sys.argv[1:])
    try:
        app = make_app(_selected(argv))
    except Exception as exc:
        debug = "--debug" in argv or os.environ.get("QMS_DEBUG", "").lower() in ("1", "true", "yes", "on")
        sys.exit(int(_internal(exc, json="--json" in argv, debug=debug)))
    app(args=argv)
