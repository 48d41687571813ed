"""`qms user add | list | rotate-key | revoke`: the people and services who sign."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from qms.cli import context
from qms.cli.output import JsonOpt, emit_json, ok, print_table
from qms.errors import QmsError
from qms.signing import Identity, Role, add_user, import_user, list_users, revoke, rotate_key
from qms.signing.crl import publish_after_revocation
from qms.signing.trust import iso

__all__ = ["ca_passphrase", "grant_actor", "hidden_prompt", "new_passphrase", "NEW_PASSPHRASE_ENV", "read_input", "register"]

NEW_PASSPHRASE_ENV = "QMS_NEW_PASSPHRASE"


def read_input(path: Path) -> bytes:
    """An input file's bytes; missing, a folder or unreadable is a user's error naming the path (exit 2)."""
    from qms.atomic import read_input as read

    return read(path)


def new_passphrase(what: str, env: str) -> str:
    """A passphrase being set: from `env` when set (scripted enrolment), else typed twice, hidden."""
    value = os.environ.get(env)
    if value:
        return value
    return hidden_prompt(f"new {what} passphrase", env, confirm=True)


def ca_passphrase() -> str:
    value = os.environ.get("QMS_CA_PASSPHRASE")
    return value if value else hidden_prompt("CA passphrase", "QMS_CA_PASSPHRASE")


def hidden_prompt(label: str, env: str, *, confirm: bool = False, default: str | None = None) -> str:
    """A hidden prompt at a terminal; without one, lines read from stdin (no echo warning), and input that ends
    names `env`, the variable that replaces the prompt."""
    if not sys.stdin.isatty():
        first = sys.stdin.readline()
        again = sys.stdin.readline() if confirm and first else first
        if not first or not again:
            if default is not None and not first:
                return default
            raise QmsError(f"the input ended where the {label} was asked for",
                           hint=f"set {env} (scripted runs), or type it at a terminal")
        if again.rstrip("\r\n") != first.rstrip("\r\n"):
            raise QmsError(f"the two {label}s given on the input differ", hint=f"set {env}, or type it at a terminal")
        return first.rstrip("\r\n") or (default or "")
    try:
        return str(typer.prompt(label, hide_input=True, confirmation_prompt=confirm, err=True, default=default,
                                show_default=False))
    except (typer.Abort, EOFError) as exc:
        if isinstance(exc, EOFError) or isinstance(exc.__context__, EOFError):
            raise QmsError(f"the input ended where the {label} was asked for",
                           hint=f"set {env} (scripted runs), or type it at a terminal") from None
        raise


def grant_actor(ca_secret: str | None) -> str:
    """Who grants or withdraws signing power: never an unverified name (21 CFR 11.10(d)).

    The identity of an unlocked session (`qms session unlock`), else the holder of the CA key,
    proven by its passphrase (`ca_secret`; the bootstrap, before anyone can sign).
    """
    from qms.signing.identity import ca_key_pair
    from qms.signing.keys import fingerprint
    from qms.signing.session import session_actor

    current = session_actor(context.qms_home())
    if current is not None:
        return current.user_id
    if ca_secret is None:
        return context.authenticated_actor()
    return f"ca:{fingerprint(ca_key_pair(context.qms_home(), ca_secret)[1])[:16]}"


def _view(ident: Identity) -> dict[str, object]:
    cert = ident.certificate
    return {"user_id": ident.user_id, "name": ident.name, "role": ident.role.value, "certificate": ident.fingerprint,
            "not_after": iso(cert.not_valid_after_utc), "revoked": ident.revoked, "issuer": cert.issuer.rfc4514_string()}


def register(app: typer.Typer) -> None:
    group = typer.Typer(help="Signers: users and CI service identities (21 CFR Part 11 §11.100).", no_args_is_help=True)
    app.add_typer(group, name="user")

    @group.command("add")
    def add_cmd(
        ctx: typer.Context,
        user_id: Annotated[str, typer.Argument(help="unique user id, e.g. j.smith")],
        name: Annotated[str | None, typer.Option(
            help="printed name shown on signatures [required for a new key; an imported certificate gives its own]",
            show_default=False)] = None,
        role: Annotated[Role, typer.Option(help="decides the meanings this user may sign with")] = Role.ENGINEER,
        cert: Annotated[Path | None, typer.Option(help="a CA-issued certificate (PEM) instead of the self-managed CA")] = None,
        key: Annotated[Path | None, typer.Option(help="the private key (PEM) of --cert")] = None,
        pkcs12: Annotated[Path | None, typer.Option(help="a CA-issued PKCS#12 file (key and certificate)")] = None,
        days: Annotated[int, typer.Option(help="validity of an issued certificate in days")] = 730,
        json_out: JsonOpt = False,
    ) -> None:
        """Enrol a signer: a new key from the self-managed CA, or an imported CA-issued one."""
        store = context.store(context.project(ctx))
        home = context.qms_home()
        if cert is not None or pkcs12 is not None:
            if (cert is None) == (pkcs12 is None) or (cert is not None and key is None):
                raise QmsError("give either --cert with --key, or --pkcs12", hint="see `qms user add --help`")
            source = pkcs12 if pkcs12 is not None else cert
            assert source is not None
            secret = os.environ.get("QMS_IMPORT_PASSPHRASE") or hidden_prompt(
                "passphrase of the imported key (empty if none)", "QMS_IMPORT_PASSPHRASE", default="")
            ident = import_user(store, home, user_id, role, new_passphrase("user", NEW_PASSPHRASE_ENV), read_input(source),
                                key_data=read_input(key) if key is not None else None, key_passphrase=secret or None,
                                where=str(source), actor=grant_actor(None))
        else:
            if not name:
                raise QmsError("--name is required for a new key", hint="the printed name shown on every signature")
            secret = ca_passphrase()
            ident = add_user(store, home, user_id, name, role, new_passphrase("user", NEW_PASSPHRASE_ENV),
                             secret, actor=grant_actor(secret), days=days)
        context.seal_chain(store)  # a grant: checkpointed like a signature
        if json_out:
            emit_json(_view(ident))
        else:
            ok(f"user {ident.user_id} ({ident.name}, {ident.role.value}) can sign; certificate {ident.fingerprint[:16]}")

    @group.command("list")
    def list_cmd(ctx: typer.Context, json_out: JsonOpt = False) -> None:
        """Every signer, the certificate they sign with now, and whether it is revoked."""
        users = [_view(i) for i in list_users(context.store(context.project(ctx), create=False), context.qms_home())]
        if json_out:
            emit_json(users)
            return
        table = Table("user id", "name", "role", "certificate", "valid until", "revoked")
        for u in users:
            table.add_row(str(u["user_id"]), str(u["name"]), str(u["role"]), str(u["certificate"])[:16],
                          str(u["not_after"]), "yes" if u["revoked"] else "no")
        print_table(table)

    @group.command("rotate-key")
    def rotate_cmd(
        ctx: typer.Context,
        user_id: Annotated[str, typer.Argument(help="whose key")],
        days: Annotated[int, typer.Option(help="validity of the new certificate in days")] = 730,
        json_out: JsonOpt = False,
    ) -> None:
        """A new key and certificate; the old one stops signing now, its signatures stay valid."""
        proj = context.project(ctx)
        store = context.store(proj, create=False)
        secret = ca_passphrase()
        ident = rotate_key(store, context.qms_home(), user_id, new_passphrase("user", NEW_PASSPHRASE_ENV),
                           secret, actor=grant_actor(secret), days=days)
        context.seal_chain(store)
        publish_after_revocation(store, context.qms_home(), secret)  # the old certificate is listed as superseded
        if json_out:
            emit_json(_view(ident))
        else:
            ok(f"user {user_id} now signs with certificate {ident.fingerprint[:16]}")

    @group.command("revoke")
    def revoke_cmd(
        ctx: typer.Context,
        user_id: Annotated[str, typer.Argument(help="whose certificate")],
        reason: Annotated[str, typer.Option(help="why, e.g. 'key compromised', 'left the company'")],
        json_out: JsonOpt = False,
    ) -> None:
        """Revoke the user's certificate now: it can no longer sign; earlier signatures still verify.

        The actor is the unlocked session's identity, else the CA key's holder (its passphrase is asked). Where the CA
        key is kept, a new CA-signed revocation list is published at once (its passphrase is asked for that too).
        """
        from qms.signing.identity import ca_key_pair, self_managed_ca
        from qms.signing.session import session_actor

        home = context.qms_home()
        unlocked = session_actor(home) is not None
        secret = ca_passphrase() if self_managed_ca(home) or not unlocked else None  # the CA signs the new CRL
        if secret is not None and self_managed_ca(home):
            ca_key_pair(home, secret)  # a wrong passphrase is refused before anything is revoked
        actor = grant_actor(None if unlocked else secret)
        proj = context.project(ctx)
        store = context.store(proj, create=False)
        rev = revoke(store, user_id, reason, actor=actor)
        context.seal_chain(store)  # a revocation deleted later (with its event) breaks a pinned event
        if secret is not None:
            publish_after_revocation(store, home, secret)  # a bundle sealed from now on carries it (no `qms ca crl`)
        if json_out:
            emit_json({"user_id": user_id, "certificate": rev.fingerprint, "revoked_at": rev.revoked_at, "reason": reason})
        else:
            ok(f"certificate {rev.fingerprint[:16]} of {user_id} revoked at {rev.revoked_at}")
