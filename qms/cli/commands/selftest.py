"""`qms selftest [--report FILE] [--sign-as USER] [--json]`: installation and operational qualification."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from qms.cli import context
from qms.cli.output import JsonOpt, emit_json, err_console, fail, ok, warn
from qms.errors import ConfigError, ExitCode, QmsError

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    @app.command("selftest")
    def selftest(
        ctx: typer.Context,
        report: Annotated[Path | None, typer.Option("--report", help="write the tool validation report (PDF/A) here")] = None,
        sign_as: Annotated[str | None, typer.Option("--sign-as", metavar="USER",
                                                    help="sign the report as USER and record the tool validation")] = None,
        check: Annotated[list[str] | None, typer.Option("--check", metavar="ID", help="run only this check (repeatable)")] = None,
        json_out: JsonOpt = False,
    ) -> None:
        """Qualify qmskit here: IQ (files, dependencies, tools) and OQ (records, signing, deid, statistics, gate).

        Exit 0 when every check passed, 1 when one failed (the report shows which), 2 on a usage error.
        """
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

        from qms.cli.commands.sign import ask_passphrase
        from qms.selftest.checks import Settings
        from qms.selftest.service import Signer, qualify, select
        from qms.signing import Signatory

        try:
            project = context.project(ctx)
        except ConfigError:
            project = None  # IQ/OQ run outside a device project too, on a scratch SQLite store
        if sign_as and project is None:
            raise QmsError("signing the report records it in the project's store: run it in a device project",
                           hint="pass --project DIR, or leave out --sign-as")
        store = context.store(project) if project is not None and sign_as else None
        organisation = project.config.manufacturer if project is not None else "unspecified organisation"
        checks = select(check or [])
        if sign_as and report is None:
            stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
            report = project.records_dir / "tool-validation" / f"tool-validation-{stamp}.pdf" if project else None
        signer = None
        if store is not None and sign_as:
            passphrase, non_interactive = ask_passphrase(sign_as)
            tsa = project.config.signing.get("tsa") if project is not None else None
            signer = Signer(store, context.qms_home(), Signatory(sign_as, passphrase, context.actor(), non_interactive),
                            None if tsa is None else str(tsa))
        settings = Settings(context.database_url(project) if project is not None else None, os.environ.get("PATH"))
        try:
            with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), console=err_console,
                          disable=json_out or not err_console.is_terminal) as bar:
                task = bar.add_task("selftest", total=None)

                def advance(index: int, total: int, check: str) -> None:
                    bar.update(task, completed=index, total=total, description=check or "done")

                outcome = qualify(settings, report_to=report, organisation=organisation,
                                  run_by=sign_as or context.actor(), signer=signer, checks=checks, progress=advance)
        finally:
            if store is not None:
                store.dispose()
        if json_out:
            emit_json(outcome.to_json())
        else:
            for result in outcome.result.results:
                line = f"{result.phase.value} {result.id}: {result.title} [{', '.join(result.verifies)}]"
                (ok if result.passed else fail)(line)
                for finding in result.findings:
                    (fail if finding.blocking else warn)("    " + finding.text())
            env = outcome.result.environment
            summary = f"qmskit {env.qmskit}, environment {env.fingerprint[:16]}"
            (ok if outcome.passed else fail)(f"selftest {'passed' if outcome.passed else 'FAILED'}: {summary}")
            if outcome.report is not None:
                ok(f"report: {outcome.report}" + (f" (signed; record {outcome.record.id})" if outcome.record else ""))
        if not outcome.passed:
            raise typer.Exit(int(ExitCode.CHECK_FAILED))
