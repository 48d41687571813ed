"""`qms sign FILE --meaning ...` and `qms verify-signature FILE`.

A PDF gets an incremental PAdES signature in place (its earlier revisions stay byte for
byte); a directory gets a signed manifest (in-toto in DSSE) of every file in it; any
other file gets a detached signature FILE.sig.json.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer

from qms import atomic
from qms.cli import context
from qms.cli.commands.user import read_input
from qms.cli.output import JsonOpt, emit_json, fail, ok
from qms.errors import ExitCode, QmsError
from qms.signing import Trust, detached, identity, read_detached, sign_bytes
from qms.signing.keys import load_certificate
from qms.signing.status import SignatureStatus

__all__ = ["ask_passphrase", "MANIFEST_NAME", "PASSPHRASE_ENV", "PASSPHRASE_FILE_ENV", "register", "session_signer", "SIG_SUFFIX"]

PASSPHRASE_FILE_ENV = "QMS_SIGNING_PASSPHRASE_FILE"
PASSPHRASE_ENV = "QMS_SIGNING_PASSPHRASE"
MANIFEST_NAME = "manifest.dsse.json"
SIG_SUFFIX = ".sig.json"


def ask_passphrase(user_id: str) -> tuple[str, bool]:
    """The passphrase for one signing, and whether it came without a person (§11.200(a)).

    A CI service identity reads QMS_SIGNING_PASSPHRASE_FILE or QMS_SIGNING_PASSPHRASE
    (non-interactive; the library refuses that for a person). A person types it, hidden,
    at every signing; when stdin is not a terminal, one line is read from it.
    """
    path = os.environ.get(PASSPHRASE_FILE_ENV)
    if path:
        try:
            return Path(path).read_text(encoding="utf-8").rstrip("\r\n"), True
        except OSError as exc:
            raise QmsError(f"cannot read the passphrase file: {exc.strerror}", where=path) from exc
    if os.environ.get(PASSPHRASE_ENV):
        return os.environ[PASSPHRASE_ENV], True
    if not sys.stdin.isatty():
        line = sys.stdin.readline()
        if not line:
            raise QmsError(f"no passphrase of {user_id}: the input ended before one was read",
                           hint=f"pipe the passphrase in, or for a service identity set {PASSPHRASE_FILE_ENV}")
        return line.rstrip("\r\n"), False
    return str(typer.prompt(f"passphrase of {user_id}", hide_input=True, err=True)), False


def session_signer() -> str:
    """The default signer: the identity unlocked in this session; never the claimed QMS_USER."""
    from qms.signing.session import session_actor

    current = session_actor(context.qms_home())
    if current is None:
        raise QmsError("who signs? no identity is unlocked in this session",
                       hint="pass --user USER_ID, or run `qms session unlock USER_ID` first (QMS_USER is never used "
                            "for signatures)")
    return current.user_id


@contextmanager
def _naming_the_signer(user_id: str, *, chosen: bool) -> Iterator[None]:
    """A wrong passphrase names the identity it was tried for, and where that identity came from."""
    from qms.signing.errors import WrongPassphrase

    try:
        yield
    except WrongPassphrase as exc:
        source = "given with --user" if chosen else "the identity unlocked with `qms session unlock`"
        raise WrongPassphrase(f"wrong passphrase of {user_id} ({source})", where=exc.where,
                              hint=f"nothing was signed; type the passphrase of {user_id}, or pass --user USER_ID "
                                   "to sign as someone else") from None


def _pairs(items: list[str], what: str) -> dict[str, str]:
    out = {}
    for item in items:
        name, sep, digest = item.partition("=")
        if not sep:
            raise QmsError(f"--{what} takes NAME=SHA256, got {item!r}")
        out[name] = digest
    return out


def _print_status(s: SignatureStatus) -> None:
    head = f"{s.signer} ({s.user_id}) {s.meaning} at {s.signed_at}" + (f" [field {s.field}]" if s.field else "")
    if s.ok:
        ok(head + (" (non-interactive service identity)" if s.interactive is False else ""))
    else:
        fail(f"{head}: intact={s.intact} valid={s.valid} trusted={s.trusted}")
    if s.time_trusted and s.timestamped_at:
        typer.echo(f"    trusted time {s.timestamped_at} (RFC 3161 timestamp; the signing time above is the signer's claim)")
    for reason in s.reasons:
        typer.echo(f"    {reason}")
    for warning in s.warnings:
        typer.echo(f"    warning: {warning}")


def register(app: typer.Typer) -> None:
    @app.command("sign")
    def sign_cmd(
        ctx: typer.Context,
        file: Annotated[Path, typer.Argument(help="a PDF, any file, or a directory (signed manifest)")],
        meaning: Annotated[str, typer.Option(help="authored, reviewed, approved, or a stated reason")],
        user: Annotated[str | None, typer.Option(help="the user id who signs (default: the identity unlocked with "
                                                      "`qms session unlock`; QMS_USER is never used)")] = None,
        object_ref: Annotated[str | None, typer.Option("--object", help="the record signed (default: file:NAME)")] = None,
        field: Annotated[str | None, typer.Option(help="PDF: the declared signature field (role) to sign")] = None,
        tsa: Annotated[str | None, typer.Option(help="RFC 3161 time-stamping authority, \"local\" or a URL "
                                                     "(default: [tool.qms.signing] tsa)")] = None,
        git_commit: Annotated[str | None, typer.Option(help="manifest: the git commit")] = None,
        model: Annotated[list[str] | None, typer.Option(help="manifest: NAME=SHA256 of a model")] = None,
        dataset: Annotated[list[str] | None, typer.Option(help="manifest: NAME=SHA256 of a dataset")] = None,
        protocol: Annotated[list[str] | None, typer.Option(help="manifest: NAME=SHA256 of a protocol")] = None,
        test_run: Annotated[list[str] | None, typer.Option(help="manifest: a test run id")] = None,
        json_out: JsonOpt = False,
    ) -> None:
        """Sign FILE as USER with a meaning; the passphrase is asked at every signing."""
        from qms.signing.manifest import Provenance, sign_manifest
        from qms.signing.pdf import Signatory, is_pdf, sign_pdf  # pyHanko loads only when signing: keeps `qms` start-up fast
        proj = context.project(ctx)
        store = context.store(proj, create=False)
        user_id = user or session_signer()
        ref = object_ref or f"file:{file.name}"
        home = context.qms_home()
        authority = tsa or proj.config.signing.get("tsa")
        with _naming_the_signer(user_id, chosen=user is not None):
            if file.is_dir():
                if not git_commit:
                    raise QmsError("a manifest needs --git-commit", where=str(file))
                out = file / MANIFEST_NAME
                names = [p.relative_to(file).as_posix() for p in sorted(file.rglob("*")) if p.is_file() and p != out]
                prov = Provenance(git_commit, _pairs(model or [], "model"), _pairs(dataset or [], "dataset"),
                                  _pairs(protocol or [], "protocol"), tuple(test_run or ()))
                passphrase, non_interactive = ask_passphrase(user_id)
                doc, rec = sign_manifest(store, home, user_id, passphrase, file, names, prov, meaning, ref,
                                         non_interactive=non_interactive, tsa=str(authority) if authority else None)
                atomic.write_text(out, json.dumps(doc, indent=2, sort_keys=True) + "\n")
            else:
                data = read_input(file)
                passphrase, non_interactive = ask_passphrase(user_id)
                if is_pdf(data) or file.suffix.lower() == ".pdf":
                    signed, rec = sign_pdf(store, home, Signatory(user_id, passphrase, non_interactive=non_interactive),
                                           data, meaning, ref, field=field, tsa=str(authority) if authority else None,
                                           where=str(file))
                    out = file
                    atomic.write_bytes(out, signed)
                else:
                    rec = sign_bytes(store, home, user_id, passphrase, data, meaning, ref, non_interactive=non_interactive,
                                     tsa=str(authority) if authority else None)
                    out = file.with_name(file.name + SIG_SUFFIX)
                    atomic.write_text(out, json.dumps(detached(rec, identity(store, home, user_id).certificate),
                                                      indent=2, sort_keys=True) + "\n")
        context.seal_chain(store)
        result: dict[str, Any] = {"signature": rec.id, "file": str(out), "user_id": rec.user_id, "name": rec.printed_name,
                                  "meaning": rec.reason or rec.meaning, "signed_at": rec.signed_at, "sha256": rec.sha256,
                                  "object": rec.object_ref, "interactive": rec.interactive}
        if json_out:
            emit_json(result)
        else:
            ok(f"{rec.printed_name} ({rec.user_id}) signed {file} as {result['meaning']} at {rec.signed_at} -> {out}")

    @app.command("verify-signature")
    def verify_cmd(
        ctx: typer.Context,
        file: Annotated[Path, typer.Argument(help="a signed PDF, a signed file, or a manifest.dsse.json")],
        signature: Annotated[Path | None, typer.Option(help="the detached signature (default: FILE.sig.json)")] = None,
        trust: Annotated[list[Path] | None, typer.Option(help="a CA certificate to trust (besides QMS_HOME's)")] = None,
        role: Annotated[list[str] | None, typer.Option(help="PDF: a role that must be signed")] = None,
        json_out: JsonOpt = False,
    ) -> None:
        """Verify offline: intact, valid, trusted, signer, meaning, time; exit 1 unless all hold."""
        from qms.signing.manifest import MANIFEST_KIND, verify_manifest
        from qms.signing.pdf import is_pdf, verify_pdf
        store = context.store(context.project(ctx), create=False)
        anchors = tuple(load_certificate(read_input(p), str(p)) for p in (trust or []))
        policy = Trust.from_store(store, context.qms_home(), anchors)
        data = read_input(file)
        report: Any
        if is_pdf(data):
            report = verify_pdf(data, policy, required_roles=role or (), where=str(file))
            statuses = list(report.signatures)
            if not json_out:
                for missing in report.missing:
                    fail(f"role {missing} is declared but not signed")
                for reason in report.reasons:
                    fail(reason)
        else:
            doc = _json(data, file) if file.name.endswith(".json") else None
            if isinstance(doc, dict) and doc.get("kind") == MANIFEST_KIND:
                report = verify_manifest(doc, file.parent, policy, exclude=[file], where=str(file))
                statuses = [report.signature]
                if not json_out:
                    for label, names in (("missing", report.missing), ("changed", report.changed), ("not listed", report.added)):
                        for n in names:
                            fail(f"{label}: {n}")
            else:
                sig_path = signature or file.with_name(file.name + SIG_SUFFIX)
                report = read_detached(_json(read_input(sig_path), sig_path), str(sig_path)).verify(data, policy, str(sig_path))
                statuses = [report]
        if json_out:
            emit_json(report.to_json())
        else:
            for s in statuses:
                _print_status(s)
        if not report.ok:
            raise typer.Exit(int(ExitCode.CHECK_FAILED))


def _json(data: bytes, where: Path) -> Any:
    try:
        return json.loads(data)
    except ValueError as exc:
        raise QmsError(f"not JSON: {exc}", where=str(where)) from exc
