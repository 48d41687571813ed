"""Every environment variable the command line reads is documented in `qms --help`, from one list."""

from __future__ import annotations

import re
from pathlib import Path

from typer.testing import CliRunner

from qms.cli.environment import VARIABLES
from qms.cli.main import make_app

ROOT = Path(__file__).resolve().parents[2]
NOT_VARIABLES = {"QMS_TOML"}  # a constant's name, not an environment variable


def test_every_variable_read_is_listed_and_shown_in_help() -> None:
    """The QMS_* names the CLI and the pytest plugin read are exactly the documented ones, each in `qms --help`."""
    sources = [*(ROOT / "qms" / "cli").rglob("*.py"), ROOT / "traceability" / "plugin.py"]
    read = {name for path in sources for name in re.findall(r'"(QMS_[A-Z_]+)"', path.read_text(encoding="utf-8"))}
    assert read - NOT_VARIABLES == set(VARIABLES)
    out = CliRunner().invoke(make_app([]), ["--help"], env={"COLUMNS": "200"}).output
    assert all(f"{name}:" in out for name in VARIABLES)
