"""`qms dataset create | show`: dataset manifests from de-identified folders."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from qms.cli import context
from qms.cli.output import JsonOpt, emit_json, file_progress, ok

__all__ = ["register"]

if TYPE_CHECKING:
    from qms.validation.manifest import DatasetManifest


def _summary(m: DatasetManifest) -> dict[str, object]:
    return {"name": m.name, "split": m.split, "sha256": m.sha256, "files": len(m.entries),
            "patients": len(m.patient_ids), "studies": len(m.study_uids), "excluded": len(m.exclusions),
            "labels": list(m.label_names), "attributes": list(m.attribute_names)}


def register(app: typer.Typer) -> None:
    group = typer.Typer(help="Dataset manifests: per-file sha256, pseudonymous ids, labels, subgroups.",
                        no_args_is_help=True)
    app.add_typer(group, name="dataset")

    @group.command("create")
    def create(
        ctx: typer.Context,
        deid_dir: Annotated[str, typer.Argument(help="the de-identified dataset folder, or a storage URL "
                                                    "(s3://, gs://: with fsspec and s3fs or gcsfs installed)")],
        labels: Annotated[Path, typer.Option(help="CSV: file, split, 0/1 label columns, attribute columns, "
                                                  "optional exclusion (reason; blank: included)")],
        out: Annotated[Path, typer.Option(help="where to write the manifest: a .parquet file table, else JSON "
                                               "(the same sha256)")],
        split: Annotated[str | None, typer.Option(help="only rows of this split (e.g. test)")] = None,
        name: Annotated[str | None, typer.Option(help="the dataset's name (default: the out file's stem)")] = None,
        label: Annotated[list[str] | None, typer.Option(help="a label column (repeat); default: every 0/1 column")] = None,
        description: Annotated[str, typer.Option(help="free text kept in the manifest")] = "",
        workers: context.WorkersOpt = None,
        engine: context.EngineOpt = None,
        json_out: JsonOpt = False,
    ) -> None:
        """Hash every file of the split, write its manifest and keep it in the store; the input is only read.
        Memory stays flat in the number of files (the labels table and the manifest are streamed)."""
        from qms.atomic import check_destination
        from qms.validation.datasetstream import write_manifest
        from qms.validation.lock import record_dataset

        check_destination(out)  # before hashing every file, not after
        project = context.project(ctx)
        store = context.store(project)
        actor = context.audit_actor(project, store)
        with file_progress("hashing", json_out=json_out) as advance:
            written = write_manifest(deid_dir, labels, out, split=split, name=name or out.stem, label_columns=label,
                                     description=description, engine=context.engine(project, engine, workers),
                                     progress=advance)
        record_dataset(store, written, out, actor)
        data = {**written.to_json(), "out": str(out)}
        if json_out:
            emit_json(data)
        else:
            ok(f"manifest {data['name']} ({data['split']}): {written.files} files, {written.patients} patients, "
               f"{data['excluded']} excluded, sha256 {written.sha256} -> {out}")

    @group.command("show")
    def show(manifest: Annotated[Path, typer.Argument(help="a manifest: JSON, or a .parquet file table")], json_out: JsonOpt = False) -> None:
        """Check a manifest's hash and summarise it."""
        from qms.validation.filetable import read_manifest

        m = read_manifest(manifest)
        data = _summary(m)
        if json_out:
            emit_json(data)
            return
        for key, value in data.items():
            typer.echo(f"{key:>10}: {', '.join(value) if isinstance(value, list) else value}")
