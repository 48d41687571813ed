"""`qms schema KIND`: the JSON Schema of a file a user writes, for editors and reviewers."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from qms.errors import QmsError

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    @app.command("schema")
    def schema_cmd(
        kind: Annotated[str, typer.Argument(help="config, design-item, release-plan, soup, anomalies, signing-roster, "
                                                 "protocol, model-card or training-recipe")],  # qms.schemas.KINDS
    ) -> None:
        """Print the JSON Schema of one kind of user file (the one its loader validates with)."""
        from qms.schemas import KINDS, schema

        if kind not in KINDS:
            raise QmsError(f"unknown kind {kind!r}", hint=f"one of {', '.join(KINDS)}")
        typer.echo(json.dumps(schema(kind), indent=2, sort_keys=True))
