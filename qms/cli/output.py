"""Terminal and JSON output, shared by every command.

User text (diagnoses, item ids, file names, protocol keys) is data: the consoles never
read it as rich markup or emoji codes, so `[tool.qms]` or `[/oops]` print as written, and
styling comes only from `Text` spans built here. The consoles keep nothing from one print to
the next (they write to whatever sys.stdout and sys.stderr are at the time); the `--json`
choice belongs to one invocation (kept in its context), so nothing carries over from one
invocation to the next in the same process.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

__all__ = ["JsonOpt", "console", "emit_json", "err_console", "fail", "file_progress", "json_requested", "ok",
           "print_table", "table", "warn"]

console = Console(highlight=False, markup=False, emoji=False)
err_console = Console(stderr=True, highlight=False, markup=False, emoji=False)

_JSON = "qms.cli.json"  # key of the `--json` choice in the invocation's context meta (shared by its sub-contexts)


def _set_json_mode(ctx: typer.Context, value: bool) -> bool:
    if value:
        ctx.meta[_JSON] = True
    return value


def json_requested(ctx: typer.Context) -> bool:
    """Whether this invocation asked for `--json` (errors then come as JSON too)."""
    return bool(ctx.meta.get(_JSON, False))


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


def _marked(mark: str, style: str, message: str | Text) -> None:
    console.print(Text.assemble((mark, style), " ", message), soft_wrap=True)


def ok(message: str | Text) -> None:
    """A line that passed: the message exactly as given, after a green tick."""
    _marked("✓", "green", message)


def fail(message: str | Text) -> None:
    """A line that failed: the message exactly as given, after a red cross."""
    _marked("✗", "red", message)


def warn(message: str | Text) -> None:
    """A line that does not block: the message exactly as given, after a yellow mark."""
    _marked("!", "yellow", message)


def vacant(message: str | Text) -> None:
    """A line that passed with nothing to examine: a grey dash, so it never reads as a check that ran and held."""
    _marked("–", "dim", message)


def table(*headers: str, **options: Any) -> Table:
    """A table whose cells fold a long value (a hash, a node id) onto more lines instead of cutting it."""
    made = Table(**options)
    for header in headers:
        made.add_column(header, overflow="fold")
    return made


def _columns() -> int | None:
    """The width the user set in COLUMNS (read at each print, not when the console was made), or None."""
    value = os.environ.get("COLUMNS", "").strip()
    return int(value) if value.isdigit() and int(value) > 0 else None


def print_table(rows: Table) -> None:
    """The table at the width COLUMNS sets, else a terminal's own width; a pipe or a file without COLUMNS
    gets it as wide as its rows, never cut at 80. Long cells fold onto more lines; nothing is cut, and
    no line ends in the padding of a borderless grid."""
    width = _columns()
    if width is None and console.is_terminal:
        width = console.width
    if width is None:
        width = max(Measurement.get(console, console.options.update(width=100_000), rows).maximum, console.width)
    shown = Console(highlight=False, markup=False, emoji=False, width=width, force_terminal=console.is_terminal)
    with shown.capture() as captured:
        shown.print(rows)
    sys.stdout.write("".join(line.rstrip() + "\n" for line in captured.get().splitlines()))
    sys.stdout.flush()


@contextmanager
def file_progress(label: str, *, json_out: bool) -> Iterator[Callable[[int, str], None]]:
    """A bar on stderr for per-file work (none with --json or off a terminal), as the library's progress callback:
    `(total, "")` sets the total once it is known, `(total, status)` counts one file done."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    with Progress(TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(), console=err_console,
                  disable=json_out or not err_console.is_terminal) as bar:
        task = bar.add_task(label, total=None)

        def advance(total: int, status: str) -> None:
            if status:
                bar.advance(task)
            else:
                bar.update(task, total=total)

        yield advance
