"""`qms ca init | import | issue-tsa | crl`: the organisation CA, its time-stamping authority and revocation list."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from qms.cli import context
from qms.cli.commands.user import ca_passphrase, new_passphrase, read_input
from qms.cli.output import JsonOpt, emit_json, ok
from qms.signing import import_ca, init_ca
from qms.signing.keys import fingerprint

__all__ = ["CA_PASSPHRASE_ENV", "register"]

CA_PASSPHRASE_ENV = "QMS_CA_PASSPHRASE"


def register(app: typer.Typer) -> None:
    group = typer.Typer(help="The organisation CA that issues signer certificates (keep it offline).", no_args_is_help=True)
    app.add_typer(group, name="ca")

    @group.command("init")
    def init_cmd(
        organisation: Annotated[str, typer.Option(help="organisation name in the CA's certificate")],
        days: Annotated[int, typer.Option(help="validity of the CA certificate in days")] = 3650,
        json_out: JsonOpt = False,
    ) -> None:
        """Create a self-managed CA in QMS_HOME; its key is encrypted with a passphrase asked here."""
        passphrase = new_passphrase("CA", CA_PASSPHRASE_ENV)
        cert = init_ca(context.qms_home(), organisation, passphrase, days=days)
        data = {"ca": cert.subject.rfc4514_string(), "fingerprint": fingerprint(cert), "home": str(context.qms_home()),
                "not_after": cert.not_valid_after_utc.isoformat()}
        if json_out:
            emit_json(data)
        else:
            ok(f"CA {data['ca']} created in {data['home']} (sha256 {data['fingerprint'][:16]}); keep its key offline")

    @group.command("import")
    def import_cmd(
        certificate: Annotated[Path, typer.Argument(help="the CA's certificate (PEM or DER)")],
        json_out: JsonOpt = False,
    ) -> None:
        """Trust an existing organisation CA: certificates it issued verify as trusted."""
        cert = import_ca(context.qms_home(), read_input(certificate), str(certificate))
        if json_out:
            emit_json({"ca": cert.subject.rfc4514_string(), "fingerprint": fingerprint(cert)})
        else:
            ok(f"trusting CA {cert.subject.rfc4514_string()} (sha256 {fingerprint(cert)[:16]})")

    @group.command("issue-tsa")
    def issue_tsa_cmd(
        days: Annotated[int, typer.Option(help="validity of the TSA certificate in days")] = 1825,
        json_out: JsonOpt = False,
    ) -> None:
        """Issue the organisation's time-stamping authority (key in QMS_HOME/tsa, certificate for timeStamping only)."""
        from qms.signing.tsa import issue_tsa

        cert = issue_tsa(context.qms_home(), ca_passphrase(), days=days)
        data = {"tsa": cert.subject.rfc4514_string(), "fingerprint": fingerprint(cert),
                "not_after": cert.not_valid_after_utc.isoformat()}
        if json_out:
            emit_json(data)
        else:
            ok(f"TSA {data['tsa']} issued (sha256 {data['fingerprint'][:16]}); set [tool.qms.signing] tsa = \"local\" "
               "or run `qms tsa serve`")

    @group.command("crl")
    def crl_cmd(
        ctx: typer.Context,
        days: Annotated[int, typer.Option(help="days until the next update the list announces")] = 7,
        out: Annotated[Path | None, typer.Option(help="also write the list (DER) here, to publish it")] = None,
        json_out: JsonOpt = False,
    ) -> None:
        """Sign a revocation list of every revoked certificate in the record store; published in QMS_HOME/crl."""
        from qms import atomic
        from qms.signing.crl import crl_der, describe, issue_crl

        store = context.store(context.project(ctx), create=False)
        crl = issue_crl(store, context.qms_home(), ca_passphrase(), days=days)
        if out is not None:
            atomic.write_bytes(out, crl_der(crl))
        data = describe(crl)
        if json_out:
            emit_json(data)
        else:
            ok(f"revocation list of {data['issuer']}: {data['revoked']} revoked, next update {data['next_update']}")
