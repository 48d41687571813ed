"""`qms bundle verify BUNDLE.zip`: the offline check of a submission bundle (exit 0 ok, 1 failed)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from qms.cli import context
from qms.cli.commands.user import read_input
from qms.cli.output import JsonOpt, emit_json, fail, ok, print_table
from qms.compute.local import usable_cores
from qms.errors import ExitCode, QmsError
from qms.release.bundle import verify_bundle
from qms.signing.keys import load_certificate
from qms.signing.trust import load_anchors

__all__ = ["register"]


def _known_revocations(ctx: typer.Context) -> dict[str, Any]:
    """The revocations of the project's record store, when the command runs inside a project that has one."""
    from qms.signing.trust import Trust

    try:
        store = context.store(context.project(ctx), create=False)
    except QmsError:
        return {}
    try:
        return dict(Trust.from_store(store).revocations)
    finally:
        store.dispose()


def register(app: typer.Typer) -> None:
    group = typer.Typer(help="Submission bundles.", no_args_is_help=True)
    app.add_typer(group, name="bundle")

    @group.command("verify")
    def verify_cmd(
        ctx: typer.Context,
        path: Annotated[Path, typer.Argument(help="the bundle zip")],
        ca: Annotated[list[Path] | None, typer.Option(help="trusted CA certificate (PEM); default: QMS_HOME's trusted CAs")] = None,
        crl: Annotated[list[Path] | None, typer.Option(help="a current revocation list of the CA; default: QMS_HOME's "
                                                            "published ones (`qms ca crl`)")] = None,
        json_out: JsonOpt = False,
    ) -> None:
        """Check every hash and signature, every required role, the file list and the audit checkpoint, offline.

        Revocations count from the CRLs (the bundle's, --crl or QMS_HOME's) and, run inside a
        project, from its record store.
        """
        if not path.is_file():
            raise QmsError("no such bundle", where=str(path))
        anchors = tuple(load_certificate(read_input(p), str(p)) for p in ca) if ca else load_anchors(context.qms_home())
        from qms.signing.crl import published_crls

        lists = [(read_input(p), str(p)) for p in (crl if crl else published_crls(context.qms_home()))]
        report = verify_bundle(path, anchors, crls=lists, revocations=_known_revocations(ctx), workers=usable_cores())
        if json_out:
            emit_json(report.to_json())
        else:
            for s in report.signatures:
                (ok if s["ok"] else fail)(f"{s['file']}: {s.get('field') or 'manifest'} signed by {s['signer']} "
                                          f"({s['user_id']}), {s['meaning']}, {s['signed_at']}"
                                          + ("" if s.get("time_trusted") else " (time not trusted: self-reported)"))
            if report.findings:
                table = Table("check", "item", "reason")
                for f in report.findings:
                    table.add_row(f.check, f.item, f.reason)
                print_table(table)
            if report.release is None:  # stopped before the manifest: there is no release or file count to state
                for f in report.findings:
                    if f.hint:
                        fail(f"{f.item}: {f.reason}; {f.hint}")
                fail(f"bundle {path.name}: not verified, {len(report.findings)} finding(s)")
            else:
                (ok if report.ok else fail)(f"bundle {path.name}: release {report.release}, {report.files} files, "
                                            + ("verified" if report.ok else f"{len(report.findings)} finding(s)"))
        if not report.ok:
            raise typer.Exit(int(ExitCode.CHECK_FAILED))
