"""Terminal and JSON output, shared by every command."""

from __future__ import annotations

import json
import sys
from contextvars import ContextVar
from typing import Annotated, Any

import typer
from rich.console import Console

console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)


json_mode: ContextVar[bool] = ContextVar("json_mode", default=False)


def _set_json_mode(value: bool) -> bool:
    if value:
        json_mode.set(True)
    return value


JsonOpt = Annotated[bool, typer.Option("--json", help="machine-readable output", callback=_set_json_mode)]
"""The `--json` option every reporting command takes; errors then come as JSON too."""


def emit_json(data: Any) -> None:
    """Machine-readable output: one JSON document on stdout.

    Indented for a person at a terminal; compact when piped, because `indent` makes the
    json module fall back to its pure-Python encoder (seconds for a 5,000-item trace).
    """
    indent = 2 if sys.stdout.isatty() else None
    sys.stdout.write(json.dumps(data, indent=indent, sort_keys=True, default=str) + "\n")
    sys.stdout.flush()


def ok(message: str) -> None:
    console.print(f"[green]✓[/green] {message}")


def fail(message: str) -> None:
    console.print(f"[red]✗[/red] {message}")
