"""`qms deid keygen | dicom | verify` (and the report-text commands of `qms.cli.deid_reports`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from qms import atomic
from qms.cli import context, deid_reports
from qms.cli.context import EngineOpt, WorkersOpt
from qms.cli.output import JsonOpt, console, emit_json, fail, file_progress, ok
from qms.deid.keying import DeidKey
from qms.errors import ExitCode, QmsError
from qms.home import refuse_committable

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    group = typer.Typer(help="De-identification of DICOM (PS3.15 Annex E) and of report text.", no_args_is_help=True)
    app.add_typer(group, name="deid")

    @group.command("keygen")
    def keygen_cmd(
        keyfile: Annotated[Path, typer.Argument(help="where to write the new key (never inside a repository)")],
        json_out: JsonOpt = False,
    ) -> None:
        """Create a new random de-identification key (mode 0600); never overwrites one."""
        if keyfile.is_dir():
            raise QmsError("is a folder: give the key file's path", where=str(keyfile),
                           hint=f"e.g. {keyfile / 'deid.key'} (never inside a repository)")
        refuse_committable(keyfile, "the de-identification key")  # whoever holds it can re-identify the data
        try:
            DeidKey.generate(keyfile)
        except FileExistsError:
            raise QmsError("a key file already exists here; it is never overwritten", where=str(keyfile),
                           hint="every mapping depends on the key: keep it, or choose another path") from None
        except OSError as exc:
            raise atomic.destination_error(keyfile, exc) from None
        key_id = DeidKey.load(keyfile).key_id
        if json_out:
            emit_json({"key_file": str(keyfile), "key_id": key_id})
        else:
            ok(f"key {key_id} written to {keyfile}")

    @group.command("dicom")
    def dicom_cmd(
        ctx: typer.Context,
        in_dir: Annotated[str, typer.Argument(metavar="IN", help="folder of DICOM files (read only), or a storage "
                                                           "URL (file://, s3://, gs://: s3fs or gcsfs installed)")],
        out_dir: Annotated[Path, typer.Argument(metavar="OUT", help="output folder: de-identified files and the "
                                                                   "manifest only")],
        key_file: Annotated[Path, typer.Option("--key-file", help="the de-identification key")],
        quarantine: Annotated[Path | None, typer.Option(
            "--quarantine", help="folder for inputs that could not be de-identified (they keep their PHI); "
                                 "default OUT.quarantine beside OUT, never inside OUT")] = None,
        option: Annotated[list[str] | None, typer.Option(
            "--option", help="turn a profile option on (NAME) or off (no-NAME), over [tool.qms.deid]")] = None,
        workers: WorkersOpt = None,
        engine: EngineOpt = None,
        exclude: Annotated[list[str] | None, typer.Option(help="glob of input files to leave out")] = None,
        json_out: JsonOpt = False,
    ) -> None:
        """De-identify every file of IN into OUT; resumable; bad input goes to the quarantine folder.

        Exit 0 when every file was de-identified (or was already), 1 when any was quarantined (a check
        found a problem: see the quarantine folder's reason files), 2 on a usage or configuration error.
        """
        from qms.deid.options import DeidOptions, pixel_options  # the pipeline loads when it runs, not for keygen
        from qms.deid.pipeline import run_batch

        if "://" not in in_dir and Path(in_dir).is_file():
            raise QmsError("is a file: give the folder of DICOM files", where=in_dir,
                           hint="give the folder that holds it: every DICOM file under IN is de-identified")
        project = context.project(ctx)
        config = project.config.deid
        options = DeidOptions.from_config(config, option or [])
        key = DeidKey.load(key_file)
        store = context.store(project)
        actor = context.audit_actor(project, store)
        runner = context.engine(project, engine, workers)
        with file_progress("de-identifying", json_out=json_out) as advance:
            report = run_batch(in_dir, out_dir, key, options, pixels=pixel_options(config),
                               exclude=exclude or [], audit=(store, actor), progress=advance,
                               quarantine=quarantine, engine=runner)
        if json_out:
            emit_json(report.to_json())
        else:
            (fail if report.quarantined else ok)(
                f"{report.processed} de-identified, {report.skipped} already done, {len(report.quarantined)} "
                f"quarantined -> {report.out_dir} (key {report.key_id}, batch {report.batch_id})")
            for q in report.quarantined:
                fail(f"{report.quarantine_dir / q.quarantine}: {q.reason.splitlines()[0]}")
        if report.quarantined:
            raise typer.Exit(int(ExitCode.CHECK_FAILED))

    @group.command("verify")
    def verify_cmd(
        ctx: typer.Context,
        out_dir: Annotated[Path, typer.Argument(metavar="OUT", help="de-identified folder")],
        against: Annotated[Path, typer.Option("--against", help="the original folder")],
        workers: WorkersOpt = None,
        engine: EngineOpt = None,
        ocr: Annotated[str | None, typer.Option(
            "--ocr", metavar="MODE", help="read pixel text with tesseract too: off, when-needed (secondary captures, "
            "ultrasound, unknown devices: where de-identification reads them) or always (every image); default: "
            "the project's [tool.qms.deid.pixels] ocr")] = None,
        json_out: JsonOpt = False,
    ) -> None:
        """Search every output for its source's identifying values, and its text and pixels for PHI the
        detectors find on their own; exit 1 on any leak. The outcome (counts, never values) is an audit event."""
        from qms.deid.options import pixel_options
        from qms.deid.verify import verify
        from qms.deid.verify_record import record_verification

        for folder in (out_dir, against):
            if not folder.is_dir():
                raise QmsError("not a folder", where=str(folder))
        project = context.project(ctx)
        store = context.store(project)
        actor = context.audit_actor(project, store)
        runner = context.engine(project, engine, workers)
        report = verify(out_dir, against, engine=runner, pixels=pixel_options(project.config.deid, ocr=ocr))
        record_verification(store, actor, out_dir, report)
        if json_out:
            emit_json(report.to_json())
        else:
            for leak in report.leaks:
                fail(f"{leak.item} {leak.where}: {leak.reason}")
            if report.unpaired:
                console.print(f"{len(report.unpaired)} output file(s) without a readable source were not compared "
                              "with it (the detectors still scanned them)")
            console.print(f"pixels searched for text by {report.pixel_text}")
            (ok if report.clean else fail)(f"{report.files_checked} files checked, {len(report.leaks)} leak(s)")
        if not report.clean:
            raise typer.Exit(int(ExitCode.CHECK_FAILED))

    deid_reports.register(group)
