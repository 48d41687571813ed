"""`qms dataset create | show`: dataset manifests from de-identified folders."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from qms import atomic
from qms.cli import context
from qms.cli.output import JsonOpt, emit_json, ok

__all__ = ["register"]

if TYPE_CHECKING:
    from qms.validation.manifest import DatasetManifest


def _summary(m: DatasetManifest, out: Path | None = None) -> dict[str, object]:
    return {"name": m.name, "split": m.split, "sha256": m.sha256, "files": len(m.entries),
            "patients": len(m.patient_ids), "studies": len(m.study_uids), "excluded": len(m.exclusions),
            "labels": list(m.label_names),
            "attributes": list(m.attribute_names), **({"out": str(out)} if out else {})}


def register(app: typer.Typer) -> None:
    group = typer.Typer(help="Dataset manifests: per-file sha256, pseudonymous ids, labels, subgroups.",
                        no_args_is_help=True)
    app.add_typer(group, name="dataset")

    @group.command("create")
    def create(
        ctx: typer.Context,
        deid_dir: Annotated[Path, typer.Argument(help="the de-identified dataset folder")],
        labels: Annotated[Path, typer.Option(help="CSV: file, split, 0/1 label columns, attribute columns, "
                                                  "optional exclusion (reason; blank: included)")],
        out: Annotated[Path, typer.Option(help="where to write the manifest (JSON)")],
        split: Annotated[str | None, typer.Option(help="only rows of this split (e.g. test)")] = None,
        name: Annotated[str | None, typer.Option(help="the dataset's name (default: the out file's stem)")] = None,
        label: Annotated[list[str] | None, typer.Option(help="a label column (repeat); default: every 0/1 column")] = None,
        description: Annotated[str, typer.Option(help="free text kept in the manifest")] = "",
        workers: Annotated[int, typer.Option(min=1, help="worker processes (local engine, local Ray)")] = 1,
        engine: context.EngineOpt = None,
        json_out: JsonOpt = False,
    ) -> None:
        """Hash every file of the split, write its manifest and keep it in the store; the input is only read."""
        from qms.validation.dataset import create_manifest
        from qms.validation.lock import record_dataset

        project = context.project(ctx)
        manifest = create_manifest(deid_dir, labels, split=split, name=name or out.stem, label_columns=label,
                                   description=description, engine=context.engine(project, engine, workers))
        store = context.store(project)
        atomic.write_text(out, manifest.dumps())
        record_dataset(store, manifest, out, context.actor())
        if json_out:
            emit_json(_summary(manifest, out))
        else:
            ok(f"manifest {manifest.name} ({manifest.split}): {len(manifest.entries)} files, "
               f"{len(manifest.patient_ids)} patients, {len(manifest.exclusions)} excluded, sha256 {manifest.sha256} -> {out}")

    @group.command("show")
    def show(manifest: Annotated[Path, typer.Argument(help="a manifest JSON file")], json_out: JsonOpt = False) -> None:
        """Check a manifest's hash and summarise it."""
        from qms.validation.manifest import DatasetManifest

        m = DatasetManifest.from_file(manifest)
        data = _summary(m)
        if json_out:
            emit_json(data)
            return
        for key, value in data.items():
            typer.echo(f"{key:>10}: {', '.join(value) if isinstance(value, list) else value}")
