"""`qms trace [--json] [--html FILE]`, `qms trace review ID...` and `qms trace review-test NODEID`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table
from rich.text import Text

from qms import atomic
from qms.cli import context
from qms.cli.output import JsonOpt, console, emit_json, fail, ok, warn
from qms.config import Project
from qms.errors import ExitCode, QmsError
from qms.traceability import Status, TraceReport, trace
from qms.traceability.cachetag import home_key
from qms.traceability.html import render_html
from qms.traceability.items import ItemType
from qms.traceability.review import review_many

if TYPE_CHECKING:
    from qms.store import Store

__all__ = ["register"]

_STYLE = {Status.VERIFIED: "green", Status.NOT_REQUIRED: "green", Status.INCOMPLETE: "yellow"}


def _trace(project: Project, store: Store) -> TraceReport:
    """The report, its caches tagged under QMS_HOME's key as `qms verify` tags them, so each reuses the other's."""
    return trace(project, store, mac_key=home_key(context.qms_home()))


def _tests(report: TraceReport, item_id: str) -> str:
    row = report.rows[item_id]
    return "\n".join(f"{t.result.nodeid.rsplit('::', 1)[-1]}: {t.result.outcome.value}"
                     + ("" if t.problem is None else f" ({t.status.value})") for t in row.tests) or "-"


def _table(report: TraceReport, kind: ItemType, root: str) -> Table:
    table = Table(root, kind.value.replace("_", " "), "title", "below", "tests (latest)", "status",
                  title=f"{root.lower()} -> {kind.value.replace('_', ' ')} -> tests", show_lines=True)
    for row in sorted(report.rows.values(), key=lambda r: r.item.id):
        if row.item.type is not kind:
            continue
        below = ", ".join(sorted(report.design.children.get(row.item.id, []))) or "-"
        style = _STYLE.get(row.status, "red")
        table.add_row(", ".join(row.ancestors) or "-", row.item.id, row.item.title, below, _tests(report, row.item.id),
                      Text(row.status.value, style=style))
    return table


def register(app: typer.Typer) -> None:
    group = typer.Typer(help="The trace matrix: design items, tests and their latest results.",
                        invoke_without_command=True)
    app.add_typer(group, name="trace")

    @group.callback()
    def show(
        ctx: typer.Context,
        html: Annotated[Path | None, typer.Option("--html", help="also write a standalone HTML page here")] = None,
        json_out: JsonOpt = False,
    ) -> None:
        """Show the trace matrix and every gap; exit 1 when a gap blocks release."""
        if ctx.invoked_subcommand is not None:
            return
        project = context.project(ctx)
        store = context.store(project, create=False)
        try:
            report = _trace(project, store)
        finally:
            store.dispose()
        if html is not None:
            atomic.write_text(html, render_html(report, project.config.device))
        if json_out:
            emit_json(report.to_json())
        else:
            console.print(_table(report, ItemType.REQUIREMENT, "Needs"))
            console.print(_table(report, ItemType.RISK_CONTROL, "Hazards"))
            for gap in report.gaps:
                (fail if gap.blocking else warn)(gap.text())
            blocking = len(report.blocking)
            (fail if blocking else ok)(f"{len(report.rows)} design items, {len(report.tests)} tests, "
                                       f"{blocking} blocking gaps at {(report.head or 'no commit')[:12]}")
        if not report.passed:
            raise typer.Exit(int(ExitCode.CHECK_FAILED))

    @group.command("review")
    def review_cmd(
        ctx: typer.Context,
        item_ids: Annotated[list[str], typer.Argument(metavar="ID...", help="the child items whose links you reviewed")],
        parent: Annotated[list[str] | None, typer.Option(help="only the link to this parent (repeatable; one ID only)")] = None,
        json_out: JsonOpt = False,
    ) -> None:
        """Record that you reviewed each ID against its parents as they are now (clears suspect links).

        Several IDs are reviewed together, all or none: each is its own review record and audit
        event, as if reviewed alone, and an ID that cannot be reviewed changes nothing for any.
        With --json: one ID gives its review, several a list of them.
        """
        if parent and len(item_ids) > 1:
            raise QmsError("--parent selects links of one item: give a single ID with it",
                           hint=f"e.g. `qms trace review {item_ids[0]} --parent {parent[0]}`")
        project = context.project(ctx)
        store = context.store(project, create=False)
        try:
            results = review_many(project, store, item_ids, context.audit_actor(project, store), tuple(parent or ()))
        finally:
            store.dispose()
        if json_out:
            emit_json(results[0].to_json() if len(item_ids) == 1 else [r.to_json() for r in results])
            return
        for result in results:
            if result.reviewed:
                ok(f"{result.item}: reviewed links to {', '.join(sorted(result.reviewed))} ({result.file})")
            else:
                ok(f"{result.item}: no link needed review")

    @group.command("review-test")
    def review_test_cmd(
        ctx: typer.Context,
        nodeid: Annotated[str, typer.Argument(metavar="NODEID", help="the test (pytest node id) whose changes you reviewed")],
        json_out: JsonOpt = False,
    ) -> None:
        """Record that you reviewed the test, as it last ran, against the items it verifies (clears its suspect links).

        Needs an unlocked session (`qms session unlock USER`): a review that clears a gate finding is attributable.
        """
        from qms.traceability.testsource import review_test

        project = context.project(ctx)
        reviewer = context.authenticated_actor()
        store = context.store(project, create=False)
        try:
            report = _trace(project, store)
            result = review_test(store, report.tests, nodeid, reviewer, report.design, project.root)
        finally:
            store.dispose()
        if json_out:
            emit_json(result.to_json())
        elif result.changes:
            ok(f"{nodeid}: reviewed its links to {', '.join(sorted(result.changes))}")
        else:
            ok(f"{nodeid}: no link needed review")
