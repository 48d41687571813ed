"""`qms anomaly list`: the register of known anomalies and what blocks the planned release."""

from __future__ import annotations

import typer
from rich.table import Table

from qms.anomalies import AnomalySeverity, blocking, load_register
from qms.cli import context
from qms.cli.output import JsonOpt, emit_json, fail, ok, print_table
from qms.release_plan import load_plan

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    group = typer.Typer(help="Known anomalies (IEC 62304 §5.8.2, §9).", no_args_is_help=True)
    app.add_typer(group, name="anomaly")

    @group.command("list")
    def list_cmd(ctx: typer.Context, json_out: JsonOpt = False) -> None:
        """Every registered anomaly with severity and status; those above the plan's threshold are marked."""
        project = context.project(ctx)
        plan = load_plan(project)
        register_ = load_register(project.path(plan.anomaly_file))
        blocked = {a.id for a in blocking(register_, AnomalySeverity(plan.anomaly_threshold))}
        if json_out:
            emit_json({"threshold": plan.anomaly_threshold,
                       "anomalies": [{**a.to_json(), "blocks_release": a.id in blocked} for a in register_]})
            return
        table = Table("id", "severity", "status", "title", "blocks")
        for a in register_:
            table.add_row(a.id, a.severity.value, a.status.value, a.title, "yes" if a.id in blocked else "")
        print_table(table)
        (fail if blocked else ok)(f"{len(blocked)} anomal{'y' if len(blocked) == 1 else 'ies'} above the threshold "
                                  f"({plan.anomaly_threshold})")
