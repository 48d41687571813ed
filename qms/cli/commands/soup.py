"""`qms soup`: the SOUP list of this environment against the project's soup file, and its CycloneDX SBOM."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from qms import atomic
from qms.cli import context
from qms.cli.output import JsonOpt, emit_json, ok, print_table
from qms.release_plan import load_plan
from qms.soup import collect, to_cyclonedx

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    @app.command("soup")
    def soup_cmd(
        ctx: typer.Context,
        sbom: Annotated[Path | None, typer.Option(help="also write the CycloneDX 1.6 SBOM here")] = None,
        all_: Annotated[bool, typer.Option("--all", help="list every installed distribution, not only direct ones")] = False,
        json_out: JsonOpt = False,
    ) -> None:
        """List SOUP (IEC 62304 §8.1.2): distributions, reviews from the soup file, native libraries."""
        project = context.project(ctx)
        plan = load_plan(project)
        soup = collect(project.path(plan.soup_file))
        if sbom is not None:
            atomic.write_text(sbom, to_cyclonedx(soup, project.config.device, plan.version))
        if json_out:
            emit_json(soup.to_json())
            return
        table = Table("name", "version", "licence", "reviewed at", "purpose")
        for item in soup.items:
            if all_ or item.direct:
                e = item.entry
                table.add_row(item.distribution.name, item.distribution.version, item.distribution.licence,
                              e.version if e else "-", e.purpose if e else "")
        print_table(table)
        ok(f"{len(soup.items)} distributions ({sum(i.direct for i in soup.items)} direct), "
           f"{len(soup.native)} native packages" + (f"; SBOM written to {sbom}" if sbom else ""))
