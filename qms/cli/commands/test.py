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
from qms.cli.output import JsonOpt, emit_json, warn
from qms.config import Project
from qms.errors import ExitCode

__all__ = ["pytest_command", "register"]

_NO_TESTS_COLLECTED = 5  # pytest.ExitCode.NO_TESTS_COLLECTED, without importing pytest at start-up


def pytest_command(project: Project, store_url: str, actor: str, args: list[str], report: Path | None,
                   empty: Path | None = None) -> list[str]:
    """The pytest command line: rooted at the project, its own config file, its plugins, the qms plugin pointed at it.

    The plugins are the project's (`qms.traceability.testplugins`), not every one installed beside qmskit.
    When the tests folder is gone and no test is named, pytest runs on `empty` (an empty folder): the run
    collects nothing and is recorded so, saying that no test exists now.
    """
    from qms.traceability.testplugins import plugin_args

    pyproject = project.root / "pyproject.toml"
    inifile = pyproject if pyproject.is_file() else project.source
    command = [sys.executable, "-m", "pytest", *plugin_args(project.root, project.config.test_plugins),
               f"--rootdir={project.root}", "-c", str(inifile),
               f"--qms-project={project.root}", f"--qms-store={store_url}", f"--qms-actor={actor}"]
    if report is not None:
        command.append(f"--qms-report={report}")
    targets = [a for a in args if not a.startswith("-") and ("::" in a or (project.root / a).exists())]
    folder = project.root / project.config.tests_dir
    return command + args + ([] if targets else [str(folder if folder.exists() or empty is None else empty)])


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
            empty = Path(tmp) / "no-tests"
            empty.mkdir()
            command = pytest_command(project, context.database_url(project), actor,
                                     list(pytest_args or []), report, empty)
            code = subprocess.run(command, cwd=project.root, check=False,
                                  stdout=sys.stderr if json_out else None).returncode
            if report is not None and report.is_file():
                emit_json(json.loads(report.read_text(encoding="utf-8")))
        if code == _NO_TESTS_COLLECTED:
            # a check that found a problem (exit 1, as failures): the run is recorded with no
            # results, so no test verifies any requirement now
            warn("pytest ran no test: none was collected, or -k / -m deselected every one; the run is "
                 "recorded, and the trace shows each requirement it leaves with no verifying test\n"
                 f"hint: add tests under {project.config.tests_dir}/ marked @pytest.mark.verifies(...), "
                 "or run without the filter")
            raise typer.Exit(int(ExitCode.CHECK_FAILED))
        if code not in (0, 1):
            raise typer.Exit(int(ExitCode.USAGE))
        raise typer.Exit(code)
