"""`qms protocol check | lock | show`: validation protocols frozen before their run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from qms.cli import context
from qms.cli.output import JsonOpt, emit_json, ok, print_table, table
from qms.errors import QmsError

__all__ = ["register"]

if TYPE_CHECKING:  # the validation library (scikit-learn, fairlearn) loads only when a command runs
    from qms.validation.lock import Signer
    from qms.validation.records import ProtocolLock


def _lock_json(rec: ProtocolLock) -> dict[str, object]:
    return {"protocol": rec.key, "lock_id": rec.id, "locked_at": rec.created_at.isoformat(), "locked_by": rec.locked_by,
            "text_sha256": rec.text_sha256, "content_sha256": rec.content_sha256, "model": rec.model_ref,
            "model_sha256": rec.model_sha256, "manifest": rec.manifest_path, "manifest_sha256": rec.manifest_sha256,
            "training_manifests": json.loads(rec.training_manifests), "lock_sha256": rec.lock_sha256,
            "signature_id": rec.signature_id}


def _signer(ctx: typer.Context, user: str | None, meaning: str) -> Signer:
    from qms.cli.commands.sign import ask_passphrase
    from qms.signing import sign_bytes

    from qms.cli.commands.sign import session_signer

    user_id = user or session_signer()

    def sign(data: bytes, ref: str) -> str:
        passphrase, non_interactive = ask_passphrase(user_id)
        store = context.store(context.project(ctx))
        rec = sign_bytes(store, context.qms_home(), user_id, passphrase, data, meaning, ref,
                         non_interactive=non_interactive, actor=context.actor())
        return rec.id

    return sign


def register(app: typer.Typer) -> None:
    group = typer.Typer(help="Validation protocols: checked, locked with their model and dataset, shown.",
                        no_args_is_help=True)
    app.add_typer(group, name="protocol")

    @group.command("check")
    def check(file: Annotated[Path, typer.Argument(help="a protocol YAML file")], json_out: JsonOpt = False) -> None:
        """Parse and validate a protocol; errors name file:line."""
        from qms.validation.protocolparser import read_protocol

        if file.is_dir():
            found = sorted(str(f) for f in (*file.glob("*.yaml"), *file.glob("*.yml")))[:5]
            raise QmsError("is a folder, not a protocol file", where=str(file),
                           hint="give one protocol's YAML file" + (f", e.g. {found[0]} (in it: {', '.join(found)})"
                                                                   if found else ""))
        p = read_protocol(file)
        if json_out:
            emit_json({"protocol": p.key, "text_sha256": p.text_sha256, "content_sha256": p.content_sha256})
        else:
            ok(f"{p.key} is a valid protocol ({len(p.endpoints)} endpoints, {len(p.bias)} bias criteria)")

    @group.command("lock")
    def lock_cmd(
        ctx: typer.Context,
        file: Annotated[Path, typer.Argument(help="a protocol YAML file")],
        sign: Annotated[bool, typer.Option("--sign", help="e-sign the lock (asks the passphrase)")] = False,
        user: Annotated[str | None, typer.Option(help="the signer's user id (default: the identity unlocked with `qms session unlock`; "
                                                      "QMS_USER is never used)")] = None,
        meaning: Annotated[str, typer.Option(help="the signature's meaning")] = "approved",
        json_out: JsonOpt = False,
    ) -> None:
        """Freeze the protocol with its model and dataset hashes; re-locking changed content is refused."""
        from qms.validation.lock import lock
        from qms.validation.protocolparser import read_protocol
        from qms.validation.inputs import inputs_for, registry_identity

        proj = context.project(ctx)
        store = context.store(proj)
        protocol = read_protocol(file)
        inputs = inputs_for(protocol, proj.root, registry_identity(store))
        # a signed lock is attributed to its signer, whose passphrase authenticates them (#14 item 7)
        locked_by = (user or context.actor()) if sign else context.audit_actor(proj, store)
        rec, created = lock(store, inputs, locked_by, signer=_signer(ctx, user, meaning) if sign else None)
        if created:  # a lock grants what a run must match: checkpoint it (#14 item 5)
            context.seal_chain(store)
        if json_out:
            emit_json({**_lock_json(rec), "created": created})
        elif created:
            ok(f"locked {rec.key}: lock {rec.lock_sha256[:16]}, model {rec.model_ref} {rec.model_sha256[:12]}, "
               f"manifest {rec.manifest_sha256[:12]}" + (f", signed ({rec.signature_id})" if rec.signature_id else
                                                          f", recorded actor {rec.locked_by} (unsigned)"))
        else:
            ok(f"{rec.key} was already locked with this content (lock {rec.lock_sha256[:16]})")

    @group.command("show")
    def show(
        ctx: typer.Context,
        key: Annotated[str | None, typer.Argument(help="id@version, or an id for all its locked versions; all locks when left out")] = None,
        json_out: JsonOpt = False,
    ) -> None:
        """The locks: what each froze, when and by whom."""
        from qms.validation.lock import find_lock
        from qms.validation.records import ProtocolLock

        store = context.store(context.project(ctx), create=False)
        if key and "@" not in key:  # an id alone: every locked version of it
            rows = store.all(ProtocolLock, ProtocolLock.protocol_id == key)
            if not rows:
                locked = sorted({r.protocol_id for r in store.all(ProtocolLock)})
                raise QmsError(f"no lock for {key}", hint=f"locked protocols: {', '.join(locked)}" if locked
                               else "no protocol is locked yet: `qms protocol lock FILE`")
        elif key:
            rec = find_lock(store, key)
            if rec is None:
                versions = [r.key for r in store.all(ProtocolLock, ProtocolLock.protocol_id == key.partition("@")[0])]
                raise QmsError(f"no lock for {key}", hint=f"locked versions: {', '.join(versions)}" if versions
                               else "`qms protocol show` lists the locks")
            rows = [rec]
        else:
            rows = store.all(ProtocolLock)
        if json_out:
            emit_json([_lock_json(r) for r in rows])
            return
        shown = table("protocol", "locked (UTC)", "by", "model", "manifest", "lock", "signed")
        for r in rows:
            shown.add_row(r.key, r.created_at.strftime("%Y-%m-%d %H:%M:%S"), r.locked_by, r.model_ref,
                          r.manifest_sha256[:12], r.lock_sha256[:12], r.signature_id or "no")
        print_table(shown)
