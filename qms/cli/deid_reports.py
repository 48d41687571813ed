"""`qms deid reports`: attached to the `qms deid` group by qms/cli/commands/deid.py."""

from __future__ import annotations

import typer


def register(group: typer.Typer) -> None:
    """Add the report-text commands to the `qms deid` group (filled in by the report-text work)."""
