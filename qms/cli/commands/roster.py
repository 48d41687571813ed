"""`qms roster show | approve`: the signing roster, approved by a quality person (21 CFR 11.10(g))."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from qms.cli import context
from qms.cli.commands.sign import ask_passphrase
from qms.cli.output import JsonOpt, emit_json, ok, warn
from qms.errors import QmsError

__all__ = ["FileOpt", "register"]

FileOpt = Annotated[Path | None, typer.Option("--file", help="the roster file (default: the release plan's roster, "
                                                               "else signing-roster.yaml)")]


def _roster_path(ctx: typer.Context, file: Path | None) -> Path:
    from qms.release_plan import load_plan
    from qms.signing.roster import DEFAULT_ROSTER

    project = context.project(ctx)
    if file is not None:
        return file
    try:
        return project.path(load_plan(project).roster_file)
    except QmsError:
        return project.path(DEFAULT_ROSTER)


def register(app: typer.Typer) -> None:
    group = typer.Typer(help="Who may sign which document in which role: the approved signing roster.", no_args_is_help=True)
    app.add_typer(group, name="roster")

    @group.command("approve")
    def approve_cmd(ctx: typer.Context, user: Annotated[str, typer.Option(help="the approving quality person")],
                    file: FileOpt = None, json_out: JsonOpt = False) -> None:
        """Approve the roster as USER (quality role, named in the roster); the passphrase is asked."""
        from qms.signing.authority import approve_roster
        from qms.signing.roster import load_roster
        from qms.signing.signatory import Signatory

        roster = load_roster(_roster_path(ctx, file))
        store = context.store(context.project(ctx), create=False)
        passphrase, non_interactive = ask_passphrase(user)
        rec = approve_roster(store, context.qms_home(), Signatory(user, passphrase, context.actor(), non_interactive), roster)
        if json_out:
            emit_json({"roster": roster.source, "sha256": roster.digest, "signature": rec.id, "approved_by": rec.user_id,
                       "signed_at": rec.signed_at})
        else:
            ok(f"{rec.printed_name} ({rec.user_id}) approved the signing roster {roster.digest[:16]} at {rec.signed_at}")

    @group.command("show")
    def show_cmd(ctx: typer.Context, file: FileOpt = None, json_out: JsonOpt = False) -> None:
        """The roster's identities and duties, and whether this exact roster is approved."""
        from qms.signing.authority import approved_roster
        from qms.signing.roster import load_roster

        roster = load_roster(_roster_path(ctx, file))
        store = context.store(context.project(ctx), create=False)
        try:
            rec = approved_roster(store, context.qms_home(), roster)
        except QmsError:
            rec = None
        if json_out:
            emit_json({**roster.to_json(), "sha256": roster.digest,
                       "approved_by": rec.user_id if rec else None, "approved_at": rec.signed_at if rec else None})
            return
        for user_id, entry in sorted(roster.identities.items()):
            typer.echo(f"  {user_id:<16} {entry.kind.value:<8} {', '.join(sorted(entry.duties))}"
                       f"{'' if entry.documents == ('*',) else '  documents: ' + ', '.join(entry.documents)}")
        if rec is None:
            warn(f"roster {roster.digest[:16]} is not approved: `qms roster approve --user QUALITY-ID`")
        else:
            ok(f"approved by {rec.printed_name} ({rec.user_id}) at {rec.signed_at}")
