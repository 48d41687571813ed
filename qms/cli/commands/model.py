"""`qms model register | list | show | lineage | generate | stage | train`.

The models library (and torch with it) is imported inside each command, so `qms` starts
fast for every other command.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import Progress

from qms.cli import context
from qms.cli.output import JsonOpt, emit_json, err_console, ok, print_table, table, warn
from qms.errors import QmsError

__all__ = ["register"]


def _git_state(path: Path) -> tuple[str | None, bool]:
    """The commit (and dirtiness) of the repository holding `path`; (None, False) outside git."""
    import git

    try:
        repo = git.Repo(path, search_parent_directories=True)
        return repo.head.commit.hexsha, repo.is_dirty(untracked_files=False)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError, ValueError):
        return None, False


def _print_version(data: dict[str, Any]) -> None:
    for key in ("ref", "digest", "stage", "format", "labels", "registered_at", "registered_by", "location"):
        if key in data:
            value = data[key]
            typer.echo(f"{key:>14}: {', '.join(value) if isinstance(value, list) else value}")
    lineage = data.get("lineage")
    if lineage:
        parent = lineage.get("parent")
        run = lineage.get("training_run")
        typer.echo(f"{'parent':>14}: {parent['ref'] + ' ' + parent['digest'][:12] if parent else '-'}")
        if run:
            typer.echo(f"{'training run':>14}: {run['id']} (manifest {run['manifest_sha256'][:12]}, seed {run['seed']}, "
                       f"commit {(run['git_commit'] or '-')[:12]}"
                       f"{' with uncommitted changes' if run.get('git_dirty') else ''})")
    for stage in data.get("stages", []):
        typer.echo(f"{'stage':>14}: {stage['at']} {stage['stage']} by {stage['actor']} ({stage['reason']})")


def register(app: typer.Typer) -> None:
    group = typer.Typer(help="Model versions: registry, stages, training.", no_args_is_help=True)
    app.add_typer(group, name="model")

    @group.command("register")
    def register_cmd(
        ctx: typer.Context,
        path: Annotated[Path, typer.Argument(help="the model folder (weights, config, model_card.yaml)")],
        name: Annotated[str, typer.Option("--name", help="model name, e.g. cxr-triage-vit")],
        version: Annotated[str, typer.Option("--version", help="version, e.g. 1.0.0")],
        parent: Annotated[str | None, typer.Option(help="name@version of the model this one was fine-tuned from")] = None,
        json_out: JsonOpt = False,
    ) -> None:
        """Hash every file, validate the card and the model, and register it in stage development."""
        from qms.models import registry

        if path.is_file():
            raise QmsError("is a file, not a folder", where=str(path),
                           hint=f"give the model folder (the one holding model_card.yaml), e.g. {path.parent}")
        proj = context.project(ctx)
        store = context.store(proj)
        actor = context.audit_actor(proj, store)
        view = registry.register(store, path, name=name, version=version, actor=actor, parent=parent, root=proj.root)
        if json_out:
            emit_json(view.to_json(full=True))
        else:
            ok(f"registered {view.record.ref} ({view.record.digest[:12]}), stage {view.stage.value}")

    @group.command("list")
    def list_cmd(
        ctx: typer.Context,
        name: Annotated[str | None, typer.Option(help="only versions of this model")] = None,
        json_out: JsonOpt = False,
    ) -> None:
        """Every registered version with its digest and current stage."""
        from qms.models import registry

        views = registry.versions(context.store(context.project(ctx), create=False), name=name)
        if json_out:
            emit_json([v.to_json() for v in views])
            return
        rows = table("model", "digest", "stage", "labels", "registered")
        for v in views:
            r = v.record
            rows.add_row(r.ref, r.digest[:12], v.stage.value, ", ".join(v.to_json()["labels"]), r.created_at.isoformat())
        print_table(rows)

    @group.command("show")
    def show_cmd(ctx: typer.Context, ref: Annotated[str, typer.Argument(help="name@version")], json_out: JsonOpt = False) -> None:
        """A version's files, card, lineage and stage history."""
        from qms.models import registry

        data = registry.show(context.store(context.project(ctx), create=False), ref).to_json(full=True)
        if json_out:
            emit_json(data)
        else:
            _print_version(data)

    @group.command("lineage")
    def lineage_cmd(ctx: typer.Context, ref: Annotated[str, typer.Argument(help="name@version")],
                    json_out: JsonOpt = False) -> None:
        """The version and every base it was fine-tuned from (or is an adapter over), nearest first."""
        from qms.models import registry

        chain = registry.lineage_chain(context.store(context.project(ctx), create=False), ref)
        rows = [{"ref": r.ref, "digest": r.digest, "format": r.format,
                 "training_run": (json.loads(r.lineage).get("training_run") or {}).get("id")} for r in chain]
        if json_out:
            emit_json(rows)
            return
        for depth, record in enumerate(chain):
            role = "adapter over" if record.format == "lora" else "fine-tuned from"
            tail = f" {role}" if depth < len(chain) - 1 else ""
            typer.echo(f"{'  ' * depth}{record.ref} {record.digest[:12]} ({record.format}){tail}")

    @group.command("generate")
    def generate_cmd(
        ctx: typer.Context,
        ref: Annotated[str, typer.Argument(help="name@version of a report generator")],
        manifest: Annotated[Path, typer.Option(help="the dataset manifest whose images to write reports for")],
        data: Annotated[Path, typer.Option(help="the folder the manifest's file paths are relative to")],
        out: Annotated[Path, typer.Option(help="the CSV to write: case_id, patient_id, generated, failure")],
        batch_size: Annotated[int, typer.Option(help="images per batch")] = 8,
        device: Annotated[str | None, typer.Option(help="cpu or cuda (default: cuda when present)")] = None,
        precision: Annotated[str | None, typer.Option(help="fp32, bf16 or fp16 (as the card allows)")] = None,
        json_out: JsonOpt = False,
    ) -> None:
        """Write a report per manifest image with the hash-checked generator (seeded as its card states)."""
        from qms.models import generation, registry
        from qms.validation.manifest import DatasetManifest

        proj = context.project(ctx)
        model = registry.load(context.store(proj, create=False), ref, root=proj.root)
        cases = DatasetManifest.from_file(manifest)
        result = generation.generate_manifest(model, cases, data, batch_size=batch_size, device=device,
                                              precision=precision)
        generation.write_csv(result, [e.patient_id for e in cases.entries], out)
        if json_out:
            emit_json({"out": str(out), "model": result.model_ref, "cases": len(result.cases),
                       "failures": len(result.failures), "environment": result.environment})
        else:
            ok(f"wrote {len(result.cases) - len(result.failures)} reports to {out} ({len(result.failures)} failed)")

    @group.command("stage")
    def stage_cmd(
        ctx: typer.Context,
        ref: Annotated[str, typer.Argument(help="name@version")],
        stage: Annotated[str, typer.Argument(help="development or staging (production only through `qms release`)")],
        reason: Annotated[str, typer.Option(help="why, for the audit trail")],
        json_out: JsonOpt = False,
    ) -> None:
        """Move a version between development and staging."""
        from qms.models.stages import Stage, change_stage

        try:
            target = Stage(stage)
        except ValueError as exc:
            raise QmsError(f"unknown stage {stage!r}", hint="development, staging (production: qms release)") from exc
        proj = context.project(ctx)
        store = context.store(proj)
        change = change_stage(store, ref, target, actor=context.audit_actor(proj, store), reason=reason)
        if json_out:
            emit_json({"ref": ref, "stage": change.stage, "record": change.id})
        else:
            ok(f"{ref} is now in {change.stage}")

    @group.command("train")
    def train_cmd(
        ctx: typer.Context,
        config: Annotated[Path, typer.Argument(help="the training recipe (YAML)")],
        manifest: Annotated[Path, typer.Option(help="the training split's dataset manifest")],
        data: Annotated[Path, typer.Option(help="the folder the manifest's file paths are relative to")],
        out: Annotated[Path, typer.Option(help="the model folder to write (must not exist)")],
        json_out: JsonOpt = False,
    ) -> None:
        """Train the recipe on the manifest, write the model folder, and record the run (seed, hashes, commit)."""
        from qms.models import registry, training
        from qms.validation.manifest import DatasetManifest

        proj = context.project(ctx)
        store = context.store(proj)
        actor = context.audit_actor(proj, store)
        recipe, _, _ = training.load_config(config)
        parent = registry.load(store, recipe.parent, root=proj.root) if recipe.parent else None
        commit, dirty = _git_state(config.resolve().parent)
        with Progress(console=err_console, transient=True, disable=json_out) as bar:
            task = bar.add_task("training", total=recipe.epochs)
            outcome = training.run_training(
                store, config, DatasetManifest.from_file(manifest), data, out, actor=actor,
                git_commit=commit, git_dirty=dirty, parent=parent,
                progress=lambda epoch: bar.update(task, completed=epoch),
            )
        result = {"training_run": outcome.run.id, "folder": str(outcome.folder), "output_digest": outcome.run.output_digest,
                  "manifest_sha256": outcome.run.manifest_sha256, "seed": outcome.run.seed, "git_commit": commit, "git_dirty": dirty,
                  "metrics": outcome.metrics}
        if json_out:
            emit_json(result)
            return
        auroc = ", ".join(f"{k} {v:.3f}" if v is not None else f"{k} -" for k, v in outcome.metrics["tuning_auroc"].items())
        ok(f"trained {outcome.folder} (run {outcome.run.id}); tuning AUROC: {auroc}")
        if dirty:
            warn(f"trained from a working tree with uncommitted changes (commit {(commit or '-')[:12]}): the recorded "
                 "commit does not reproduce this model; commit, then train again for a release")
