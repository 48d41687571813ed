"""`qms release VERSION` and `qms release sign VERSION --meaning reviewed|approved`."""

from __future__ import annotations

from typing import Annotated

import typer

from qms.cli import context
from qms.cli.commands.sign import ask_passphrase
from qms.cli.commands.verify import print_verdict
from qms.cli.output import JsonOpt, emit_json, ok
from qms.compute.local import usable_cores
from qms.errors import ExitCode, QmsError
from qms.release.service import GateFailed, StepResult, author, sign
from qms.signing.meaning import SignatureMeaning
from qms.signing.signatory import Signatory

__all__ = ["register"]


def _signer(user: str | None) -> Signatory:
    from qms.cli.commands.sign import session_signer

    user_id = user or session_signer()
    passphrase, non_interactive = ask_passphrase(user_id)
    return Signatory(user_id, passphrase, context.actor(), non_interactive)


def _report(result: StepResult, json_out: bool) -> None:
    if json_out:
        emit_json(result.to_json())
        return
    # the step that completes a release is recorded as bundled; the person did the approving
    done = "approved" if result.step.step == "bundled" else result.step.step
    ok(f"release {result.step.version}: {done} by {result.step.actor} ({len(result.step.document_digests())} files)")
    typer.echo(f"  documents: {result.folder / 'documents'}")
    if result.bundle is not None:
        ok(f"bundle written and verified: {result.bundle}")
        ok(f"model {result.step.model} promoted to production")


def _author(ctx: typer.Context, version: str, user: str | None, json_out: bool) -> None:
    project = context.project(ctx)
    try:
        result = author(project, context.store(project, create=False), context.qms_home(), version, _signer(user),
                        workers=usable_cores())
    except GateFailed as exc:
        if json_out:
            emit_json({**exc.to_json(), "verdict": exc.verdict.to_json()})
        else:
            print_verdict(exc.verdict)
        raise typer.Exit(int(ExitCode.CHECK_FAILED)) from None
    _report(result, json_out)


def _sign(ctx: typer.Context, version: str, meaning: str | None, user: str | None, json_out: bool) -> None:
    try:
        parsed = SignatureMeaning(meaning or "")
    except ValueError:
        raise QmsError(f"--meaning {meaning!r} is not allowed", hint="--meaning reviewed or --meaning approved") from None
    project = context.project(ctx)
    _report(sign(project, context.store(project, create=False), context.qms_home(), version, parsed, _signer(user),
                 workers=usable_cores()), json_out)


def register(app: typer.Typer) -> None:
    @app.command("release")
    def release_cmd(
        ctx: typer.Context,
        words: Annotated[list[str], typer.Argument(metavar="VERSION | sign VERSION",
                                                   help="`VERSION` to author a release; `sign VERSION` to review or approve it")],
        meaning: Annotated[str | None, typer.Option(help="with `sign`: reviewed or approved")] = None,
        user: Annotated[str | None, typer.Option(help="the signer's user id (default: the identity unlocked with `qms session unlock`; "
                                                      "QMS_USER is never used)")] = None,
        json_out: JsonOpt = False,
    ) -> None:
        """Author a release at a passing gate (render, sign as author, record), or sign it as reviewer or approver.

        Approval completes the release: the signed manifest and the bundle are written, the
        bundle is verified, and the model version is promoted to production.
        """
        if len(words) == 1 and words[0] != "sign":
            _author(ctx, words[0], user, json_out)
        elif len(words) == 2 and words[0] == "sign":
            _sign(ctx, words[1], meaning, user, json_out)
        else:
            raise QmsError(f"cannot read `qms release {' '.join(words)}`",
                           hint="qms release VERSION, or qms release sign VERSION --meaning reviewed|approved")
