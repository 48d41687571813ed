"""`qms test [-- pytest args]`: the project's tests, with the traceability plugin recording the run."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Annotated

import typer

from qms.cli import context
from qms.cli.output import JsonOpt, emit_json
from qms.config import Project
from qms.errors import ExitCode

__all__ = ["pytest_command", "register"]


def pytest_command(project: Project, store_url: str, actor: str, args: list[str], report: Path | None) -> list[str]:
    """The pytest command line: rooted at the project, its own config file, the plugin pointed at it."""
    pyproject = project.root / "pyproject.toml"
    inifile = pyproject if pyproject.is_file() else project.source
    command = [sys.executable, "-m", "pytest", f"--rootdir={project.root}", "-c", str(inifile),
               f"--qms-project={project.root}", f"--qms-store={store_url}", f"--qms-actor={actor}"]
    if report is not None:
        command.append(f"--qms-report={report}")
    targets = [a for a in args if not a.startswith("-") and ("::" in a or (project.root / a).exists())]
    return command + args + ([] if targets else [str(project.root / project.config.tests_dir)])


def register(app: typer.Typer) -> None:
    @app.command("test", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
    def test(
        ctx: typer.Context,
        pytest_args: Annotated[list[str] | None, typer.Argument(help="arguments for pytest, after --")] = None,
        json_out: JsonOpt = False,
    ) -> None:
        """Run the project's tests and record the run (outcomes, links, commit, environment)."""
        project = context.project(ctx)
        store = context.store(project)
        try:
            actor = context.audit_actor(project, store)  # the run is recorded as this identity's
        finally:
            store.dispose()
        with tempfile.TemporaryDirectory() as tmp:
            report = Path(tmp) / "run.json" if json_out else None
            command = pytest_command(project, context.database_url(project), actor,
                                     list(pytest_args or []), report)
            code = subprocess.run(command, cwd=project.root, check=False,
                                  stdout=sys.stderr if json_out else None).returncode
            if report is not None and report.is_file():
                emit_json(json.loads(report.read_text(encoding="utf-8")))
        if code not in (0, 1):
            raise typer.Exit(int(ExitCode.USAGE))
        raise typer.Exit(code)
