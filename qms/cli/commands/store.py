"""`qms store migrate | info`."""

from __future__ import annotations

import typer

from qms import audit
from qms.cli import context
from qms.cli.output import JsonOpt, emit_json, fail, ok, print_table
from qms.errors import ExitCode
from qms.store.integrity import check_integrity

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    group = typer.Typer(help="The record store (SQLite or PostgreSQL).", no_args_is_help=True)
    app.add_typer(group, name="store")

    @group.command("migrate")
    def migrate(ctx: typer.Context, json_out: JsonOpt = False) -> None:
        """Create the store, or bring an older one to this version's schema."""
        store = context.store(context.project(ctx))
        if store.migrated:
            audit.record(store, audit.EventSpec(context.actor(), "store.migrate", f"store:{store.store_id}",
                                                details={"revisions": sorted(store.migrated)}))
        if json_out:
            emit_json({"store": store.display_url, "applied": sorted(store.migrated)})
        else:
            applied = ", ".join(sorted(store.migrated)) or "nothing to do"
            ok(f"store {store.display_url} is current ({applied})")

    @group.command("info")
    def info(ctx: typer.Context, json_out: JsonOpt = False) -> None:
        """Where the store is, its identity, schema revisions, audit head and integrity; exit 1 when damaged."""
        store = context.store(context.project(ctx), create=False)
        seq, head = audit.head(store)
        damage = check_integrity(store)
        data = {"store": store.display_url, "store_id": store.store_id, "revisions": sorted(store.revisions()),
                "audit_events": seq, "audit_head": head, "integrity": "damaged" if damage else "ok"}
        if json_out:
            emit_json(data | {"problems": [f.to_json() for f in damage]})
        else:
            from rich.table import Table

            shown = Table.grid(padding=(0, 1))  # long values (revisions, hashes) fold within COLUMNS
            shown.add_column(justify="right", no_wrap=True)
            shown.add_column(overflow="fold")
            for key, value in data.items():
                shown.add_row(f"{key}:", ", ".join(value) if isinstance(value, list) else str(value))
            print_table(shown)
            for finding in damage:
                fail(finding.text())
        if damage:
            raise typer.Exit(int(ExitCode.CHECK_FAILED))
