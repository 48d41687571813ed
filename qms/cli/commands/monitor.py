"""`qms monitor`: production inference records against the locked validation run; breached triggers open anomalies.

The bias report's post-market plan (frequency, triggers, owner) drives the pass; `--window-hours`
overrides the plan's frequency, and the report records that it did.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from qms.cli import context
from qms.cli.output import JsonOpt, emit_json, fail, ok

__all__ = ["NoAnomaliesOpt", "register", "ReportOpt", "RunOpt", "SignOpt", "WindowOpt"]

if TYPE_CHECKING:
    from qms.config import Project
    from qms.monitor.service import MonitoringReport

RunOpt = Annotated[str, typer.Option("--run", help="the locked validation run production is compared with")]
WindowOpt = Annotated[float | None, typer.Option(
    help="window length in hours, overriding the post-market plan's frequency (recorded in the report)")]
NoAnomaliesOpt = Annotated[bool, typer.Option("--no-anomalies", help="report only; open nothing in the register")]
ReportOpt = Annotated[bool, typer.Option("--report/--no-report", help="write the HTML and PDF monitoring report")]
SignOpt = Annotated[str | None, typer.Option("--sign-as", help="sign the report's PDF as its author (asks the passphrase)")]


def _finish(project: Project, report: MonitoringReport, *, anomalies: bool, write_report: bool, json_out: bool,
            sign_as: str | None) -> None:
    """Open anomalies, write the report, print, and exit 1 when a trigger was breached."""
    import subprocess

    from qms.atomic import write_bytes, write_text
    from qms.documents.render import DocumentHeader
    from qms.monitor.report import render_report, sign_report
    from qms.monitor.service import open_anomalies
    from qms.release_plan import load_plan

    if anomalies and report.findings:
        open_anomalies(report, project.path(load_plan(project).anomaly_file))
    written: list[str] = []
    if write_report:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=project.root, capture_output=True, text=True,
                                check=False).stdout.strip() or "unknown"
        doc = render_report(report, DocumentHeader(project.config.device, project.config.manufacturer,
                                                   report.model_ref), commit)
        folder = project.records_dir / "monitoring"
        pdf = doc.pdf
        if sign_as:
            from qms.cli.commands.sign import ask_passphrase
            from qms.signing.signatory import Signatory

            passphrase, non_interactive = ask_passphrase(sign_as)
            tsa = project.config.signing.get("tsa")
            pdf, _ = sign_report(context.store(project), context.qms_home(),
                                 Signatory(sign_as, passphrase, context.actor(), non_interactive), doc,
                                 None if tsa is None else str(tsa))
        write_text(folder / f"{doc.document_id}.html", doc.html)
        write_bytes(folder / f"{doc.document_id}.pdf", pdf)
        written = [str(folder / f"{doc.document_id}.{ext}") for ext in ("html", "pdf")]
    if json_out:
        emit_json({**report.to_json(), "report_files": written})
    else:
        for finding in report.findings:
            fail(finding.text())
        if report.anomalies:
            fail(f"anomalies open in the register: {', '.join(report.anomalies)}")
        if written:
            ok(f"report written: {', '.join(written)}")
        (fail if report.findings else ok)(f"{len(report.windows)} window(s), {len(report.findings)} trigger(s) breached")
    if report.findings:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    group = typer.Typer(help="Post-market monitoring of production models.", no_args_is_help=True)
    app.add_typer(group, name="monitor")

    @group.command("run")
    def run_cmd(ctx: typer.Context, run: RunOpt, window_hours: WindowOpt = None, no_anomalies: NoAnomaliesOpt = False,
                report: ReportOpt = True, sign_as: SignOpt = None, json_out: JsonOpt = False) -> None:
        """Drift of every window against the validation run (PSI, threshold 0.25) and the post-market plan's triggers."""
        project = context.project(ctx)
        result = _monitor(project, run, window_hours, None)
        _finish(project, result, anomalies=not no_anomalies, write_report=report, json_out=json_out, sign_as=sign_as)

    @group.command("labels")
    def labels_cmd(ctx: typer.Context, file: Annotated[Path, typer.Argument(help="CSV: request_id, label, truth, ...")],
                   run: RunOpt, window_hours: WindowOpt = None, no_anomalies: NoAnomaliesOpt = False,
                   report: ReportOpt = True, sign_as: SignOpt = None, json_out: JsonOpt = False) -> None:
        """Performance on production cases with ground truth, against the protocol's criteria, overall and per
        subgroup, and the post-market plan's triggers on them."""
        project = context.project(ctx)
        result = _monitor(project, run, window_hours, file)
        _finish(project, result, anomalies=not no_anomalies, write_report=report, json_out=json_out, sign_as=sign_as)



def _monitor(project: Project, run: str, window_hours: float | None, labels: Path | None) -> MonitoringReport:
    from qms.monitor.service import monitor_run

    return monitor_run(context.store(project), run, project.root,
                       window=None if window_hours is None else timedelta(hours=window_hours), labels=labels)
