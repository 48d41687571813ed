"""`qms session unlock USER | show | close`: act as an authenticated identity for a while (21 CFR 11.10(d))."""

from __future__ import annotations

from typing import Annotated

import typer

from qms.cli import context
from qms.cli.commands.sign import ask_passphrase
from qms.cli.output import JsonOpt, emit_json, ok, warn

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    group = typer.Typer(help="Unlock an identity once for a session: the audit trail then names it as the actor.",
                        no_args_is_help=True)
    app.add_typer(group, name="session")

    @group.command("unlock")
    def unlock_cmd(
        ctx: typer.Context,
        user_id: Annotated[str, typer.Argument(help="whose key to unlock")],
        minutes: Annotated[int, typer.Option(min=1, max=720, help="the session's timeout")] = 30,
        json_out: JsonOpt = False,
    ) -> None:
        """Unlock USER's key with the passphrase; wrong passphrases are audited and lock the identity after 5."""
        from datetime import timedelta

        from qms.signing.session import open_session

        store = context.store(context.project(ctx), create=False)
        passphrase, _ = ask_passphrase(user_id)
        session = open_session(store, context.qms_home(), user_id, passphrase, timeout=timedelta(minutes=minutes))
        if json_out:
            emit_json({"user_id": session.user_id, "certificate": session.certificate,
                       "expires_at": session.expires_at.isoformat()})
        else:
            ok(f"acting as {session.user_id} until {session.expires_at:%Y-%m-%d %H:%M} UTC")

    @group.command("show")
    def show_cmd(json_out: JsonOpt = False) -> None:
        """Who this session acts as, if anyone."""
        from qms.signing.session import session_actor

        session = session_actor(context.qms_home())
        if json_out:
            emit_json(None if session is None else {"user_id": session.user_id, "certificate": session.certificate,
                                                    "expires_at": session.expires_at.isoformat()})
        elif session is None:
            warn("no unlocked session: actions are not attributed to an authenticated identity")
        else:
            ok(f"acting as {session.user_id} until {session.expires_at:%Y-%m-%d %H:%M} UTC")

    @group.command("close")
    def close_cmd() -> None:
        """End the session now."""
        from qms.signing.session import close_session

        who = close_session(context.qms_home())
        ok(f"session of {who} closed" if who else "no session was open")
