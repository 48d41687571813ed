"""`qms verify`: the release gate's verdict, for a person or for CI (exit 0 pass, 1 fail, 2 usage)."""

from __future__ import annotations

import typer
from rich.text import Text

from qms.cli import context
from qms.cli.output import JsonOpt, console, emit_json, fail, ok, print_table, table, vacant, warn
from qms.errors import ExitCode
from qms.gate import Verdict, verify

__all__ = ["print_verdict", "register"]


def print_verdict(verdict: Verdict) -> None:
    """A readable summary: one line per check, then every finding with its hint."""
    s = verdict.subject
    released = f"model {s.get('model')}" if s.get("model") is not None else f"{s.get('kind')} project, no model"
    console.print(Text.assemble((str(s.get("device")), "bold"), f" release {s.get('release')}, {released}, "
                                  f"commit {str(s.get('commit'))[:12]} (class {s.get('safety_class')})"), soft_wrap=True)
    for o in verdict.outcomes:
        if o.passed and not o.examined:  # e.g. tool validation not required, no signature yet: nothing held, nothing failed
            vacant(Text.assemble(o.title, " ", ("(nothing to examine here yet)", "dim")))
            continue
        (ok if o.passed else fail)(Text.assemble(o.title, " ", (f"({o.examined} examined, {len(o.findings)} finding(s))", "dim")))
    for n in verdict.not_applicable:
        warn(Text.assemble("not applicable: ", n.title, " ", (f"({n.reason})", "dim")))
    if verdict.findings:
        rows = table("check", "item", "reason", "hint", show_lines=False)  # long values fold, never cut
        for f in verdict.findings:
            rows.add_row(f.check, f.item, f.reason, f.hint)
        print_table(rows)
    if verdict.passed:
        ok(Text.assemble(("PASS", "bold"), ": may ship"))
    else:
        fail(Text.assemble(("FAIL", "bold"), f": {len(verdict.findings)} finding(s)"))


def register(app: typer.Typer) -> None:
    @app.command("verify")
    def verify_cmd(ctx: typer.Context, json_out: JsonOpt = False) -> None:
        """May this commit and this model version ship? Runs every gate check and names every gap."""
        project = context.project(ctx)
        verdict = verify(project, context.store(project, create=False), context.qms_home(), stat_cache=True)
        if json_out:
            emit_json(verdict.to_json())
        else:
            print_verdict(verdict)
        if not verdict.passed:
            raise typer.Exit(int(ExitCode.CHECK_FAILED))
