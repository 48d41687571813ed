"""`qms audit log | verify | checkpoint`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from qms import atomic, audit, checkpoint, checkpoint_log
from qms.cli import context
from qms.cli.output import JsonOpt, emit_json, fail, ok, print_table, table
from qms.errors import CheckFailed, ExitCode, QmsError
from qms.store.integrity import check_integrity

__all__ = ["register"]

def _key_path() -> Path:
    return context.qms_home() / checkpoint.KEY_FILE


def _trusted_key(path: Path | None) -> Ed25519PublicKey:
    if path is None:
        found = checkpoint_log.trusted_key(_key_path())  # the key, or its .pub.pem; never created here
        return found if found is not None else checkpoint.load_key(_key_path()).public_key()  # raises, naming the file
    return checkpoint.load_public_key(path, "trusted public key")


def _read_checkpoint(path: Path) -> checkpoint.Checkpoint:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise QmsError(f"cannot read the checkpoint: {exc}", where=str(path)) from exc
    return checkpoint.Checkpoint.from_json(data, str(path))


def register(app: typer.Typer) -> None:
    group = typer.Typer(help="The hash-chained audit trail (21 CFR Part 11 §11.10(e)).", no_args_is_help=True)
    app.add_typer(group, name="audit")

    @group.command("log")
    def log_cmd(
        ctx: typer.Context,
        action: Annotated[str | None, typer.Option(help="only this action, e.g. project.init")] = None,
        actor: Annotated[str | None, typer.Option(help="only this actor")] = None,
        object_prefix: Annotated[str | None, typer.Option("--object", help="only objects starting with this")] = None,
        since: Annotated[str | None, typer.Option(help="only events at or after this UTC time (ISO 8601)")] = None,
        limit: Annotated[int | None, typer.Option(help="only the last N events")] = None,
        json_out: JsonOpt = False,
    ) -> None:
        """List audit events, oldest first."""
        store = context.store(context.project(ctx), create=False)
        events = audit.log(store, action=action, actor=actor, object_prefix=object_prefix, since=since, limit=limit)
        if json_out:
            emit_json([e.model_dump() for e in events])
            return
        rows = table("seq", "time (UTC)", "actor", "action", "object", "hash")
        for e in events:
            rows.add_row(str(e.seq), e.time, e.actor, e.action, e.object, e.hash[:12])
        print_table(rows)

    @group.command("verify")
    def verify_cmd(
        ctx: typer.Context,
        against: Annotated[Path | None, typer.Option(help="a signed checkpoint file the chain must still contain")] = None,
        trusted_key: Annotated[Path | None, typer.Option(help="PEM public key that signs checkpoints")] = None,
        json_out: JsonOpt = False,
    ) -> None:
        """Recompute the chain, pinned by the project's checkpoint log and its bundles' checkpoints, with every signature,
        promotion and bundle covered by the log (the gate's rule); name the first broken event. Exit 1 on any finding."""
        proj = context.project(ctx)
        store = context.store(proj, create=False)
        damage = check_integrity(store)  # a damaged page or index the chain's reading cannot see
        if against is None:  # pinned by every checkpoint of the project's log, whose key is never created here
            from qms.gate.coverage import check as coverage

            key = _trusted_key(trusted_key) if trusted_key else checkpoint_log.trusted_key(_key_path())
            covered = coverage(store, proj.records_dir, key)  # a deleted log or a cut tail is a finding, never "intact"
            report, damage = covered.report, (*damage, *covered.findings)
        else:
            report = checkpoint.verify_against(store, _read_checkpoint(against), _trusted_key(trusted_key), str(against))
        if json_out:
            emit_json(report.to_json() | {"integrity": [f.to_json() for f in damage]})
        else:
            for finding in damage:
                fail(finding.text())
            if report.intact and not damage:
                ok(f"audit trail intact: {report.events} events, head {report.head_seq} {report.head_hash[:16]}")
            elif report.intact:
                fail(f"audit trail recomputes ({report.events} events, head {report.head_seq}) but is not intact: "
                     f"{len(damage)} finding(s) above")
            else:
                assert report.first_break is not None
                fail(f"audit trail broken at event {report.first_break.seq}: {report.first_break.reason}")
        if damage or not report.intact:
            raise typer.Exit(int(ExitCode.CHECK_FAILED))

    @group.command("checkpoint")
    def checkpoint_cmd(
        ctx: typer.Context,
        out: Annotated[Path | None, typer.Option(help="where to write the signed checkpoint [default: "
                                                      "RECORDS_DIR/checkpoints/audit-checkpoint-SEQ.json, which git "
                                                      "ignores; copy it off the machine]")] = None,
        json_out: JsonOpt = False,
    ) -> None:
        """Sign the chain head and write it outside the database."""
        proj = context.project(ctx)
        store = context.store(proj, create=False)
        actor = context.audit_actor(proj, store)  # refused before anything is signed when nobody is unlocked
        report = audit.verify(store)
        if not report.intact:
            assert report.first_break is not None
            raise CheckFailed(f"refusing to checkpoint a broken chain (event {report.first_break.seq}: "
                              f"{report.first_break.reason})", hint="run `qms audit verify`")
        key = checkpoint.load_or_create_key(_key_path())
        cp = checkpoint.create(store, key)
        out = out or proj.records_dir / "checkpoints" / f"audit-checkpoint-{cp.seq}.json"  # never the work tree
        out.parent.mkdir(parents=True, exist_ok=True)
        atomic.write_text(out, json.dumps(cp.to_json(), indent=2, sort_keys=True) + "\n")
        audit.record(store, audit.EventSpec(actor, "audit.checkpoint", f"checkpoint:{cp.seq}",
                                            after=cp.head_hash, details={"signer": cp.signer_fingerprint}))
        if json_out:
            emit_json({"file": str(out), **cp.to_json()})
        else:
            ok(f"checkpoint of event {cp.seq} ({cp.head_hash[:16]}) signed by key {cp.signer_fingerprint} -> {out}")
