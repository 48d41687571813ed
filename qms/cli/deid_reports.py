"""`qms deid reports`: attached to the `qms deid` group by qms/cli/commands/deid.py."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from qms.cli import context
from qms.cli.output import JsonOpt, emit_json, err_console, fail, ok
from qms.deid.keying import DeidKey
from qms.errors import ExitCode

__all__ = ["MAX_BYTES", "register"]

MAX_BYTES = 8 * 2**20
"""`--max-bytes`' default: `qms.deid.text.batch.DEFAULT_MAX_BYTES` (tested equal), whose name lists load only when
`qms deid reports` runs, not for every `qms deid` command."""


def register(group: typer.Typer) -> None:
    """Add the report-text commands to the `qms deid` group."""

    @group.command("reports")
    def reports_cmd(
        ctx: typer.Context,
        in_path: Annotated[Path, typer.Argument(metavar="IN", help="a report file or a folder of them (read only)")],
        out_dir: Annotated[Path, typer.Argument(metavar="OUT", help="output folder: de-identified reports and the manifest; "
                                                                   "quarantined inputs go to OUT.quarantine beside it")],
        key_file: Annotated[Path, typer.Option("--key-file", help="the de-identification key (as for `deid dicom`)")],
        patient_map: Annotated[Path | None, typer.Option(
            help="CSV with columns file,patient_id for plain-text reports (file relative to IN)")] = None,
        patient_id: Annotated[str | None, typer.Option(help="the patient of every plain-text report")] = None,
        text_field: Annotated[str, typer.Option(help="JSONL field / CSV column holding the report")] = "report",
        patient_field: Annotated[str, typer.Option(
            help="JSONL field / CSV column holding the patient id")] = "patient_id",
        keep_field: Annotated[list[str] | None, typer.Option(
            help="another field or column to carry over (its text is de-identified too)")] = None,
        keep_names: Annotated[bool, typer.Option(
            help="name outputs like the inputs (names may identify: off by default)")] = False,
        max_bytes: Annotated[int, typer.Option(min=1, help="larger files are quarantined")] = MAX_BYTES,
        quarantine: Annotated[Path | None, typer.Option(
            "--quarantine", help="folder for inputs that could not be de-identified (they keep their PHI); "
                                 "default OUT.quarantine beside OUT, never inside OUT")] = None,
        json_out: JsonOpt = False,
    ) -> None:
        """De-identify report text into OUT: keyed surrogates, dates shifted as in `deid dicom`.

        Exit 0 when every input was de-identified, 1 when any was quarantined or skipped (a check found a
        problem, as for `deid dicom`), 2 on a usage or configuration error.
        """
        from qms.deid.options import DeidOptions
        from qms.deid.text import BatchOptions, Fields, deidentify_reports, record

        project = context.project(ctx)
        shift = DeidOptions.from_config(project.config.deid).date_shift
        options = BatchOptions(Fields(text_field, patient_field, tuple(keep_field or ())), patient_id, patient_map,
                               keep_names, max_bytes, shift)
        key = DeidKey.load(key_file)
        store = context.store(project)
        actor = context.audit_actor(project, store)
        with Progress(TextColumn("de-identifying reports"), BarColumn(), MofNCompleteColumn(), console=err_console,
                      disable=json_out or not err_console.is_terminal) as bar:
            task = bar.add_task("reports", total=None)
            report = deidentify_reports(in_path, out_dir, key, options,
                                        progress=lambda done, total: bar.update(task, completed=done, total=total),
                                        quarantine=quarantine)
        record(store, actor, report)
        if json_out:
            emit_json(report.to_json())
        else:
            totals = report.manifest["totals"]
            summary = (f"{totals['reports']} report(s) in {totals['files']} file(s) de-identified, "
                       f"{sum(totals['identifiers'].values())} identifier(s) replaced, {totals['quarantined']} "
                       f"quarantined, {totals['skipped']} skipped -> {out_dir} (key {report.key_id})")
            (ok if report.complete else fail)(summary)
            for q in report.quarantined:
                fail(f"{q.input}: {q.reason} (copy in {q.copy})")
            for path in report.skipped:
                fail(f"{path}: skipped, not a report format (.txt .text .jsonl .ndjson .csv .dcm, or no suffix)")
        if not report.complete:
            raise typer.Exit(int(ExitCode.CHECK_FAILED))
