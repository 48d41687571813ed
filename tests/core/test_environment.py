"""Every environment variable the command line reads is documented in `qms --help` and in each reading command's --help."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from qms.cli.environment import GENERAL, READ_BY, VARIABLES
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


def _commands(group: Any, prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    """Every leaf command's path (typer's click groups are its vendored click's: told apart by `commands`)."""
    for name, command in sorted(group.commands.items()):
        if hasattr(command, "commands"):
            yield from _commands(command, (*prefix, name))
        else:
            yield (*prefix, name)


COMMANDS = list(_commands(typer.main.get_group(make_app())))


def test_the_commands_named_as_readers_exist() -> None:
    """Every variable is read by every command or by named ones, each a real command (a renamed one cannot lose them)."""
    assert set(VARIABLES) == set(GENERAL) | set(READ_BY)
    paths = {" ".join(c) for c in COMMANDS}
    assert {c for readers in READ_BY.values() for c in readers} <= paths


def test_the_commands_a_variables_description_names_exist() -> None:
    """Every `qms GROUP COMMAND` a variable's description names is a real command (no `qms user import`)."""
    paths = {" ".join(c) for c in COMMANDS}
    named = {m for text in VARIABLES.values() for m in re.findall(r"`qms ([a-z-]+(?: [a-z-]+)?)", text)}
    assert named and all(m in paths or m.split(" ")[0] in paths for m in named), named - paths


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_every_commands_help_lists_the_variables_it_reads(command: tuple[str, ...]) -> None:
    """`qms GROUP COMMAND --help` ends with the variables that command reads, and no passphrase variable it does not."""
    out = CliRunner().invoke(make_app(), [*command, "--help"], env={"COLUMNS": "200"}).output
    environment = out.partition("Environment:")[2]
    path = " ".join(command)
    for name in VARIABLES:
        listed = f"{name}:" in environment
        assert listed == (name in GENERAL or path in READ_BY.get(name, ())), (path, name, out)


def test_signing_and_enrolment_commands_name_their_passphrase_variables() -> None:
    """The commands a new user runs unattended in the tutorial say which variable replaces each prompt."""
    def help_of(*args: str) -> str:
        return CliRunner().invoke(make_app(), [*args, "--help"], env={"COLUMNS": "200"}).output

    assert "QMS_CA_PASSPHRASE:" in help_of("ca", "init") and "QMS_NEW_PASSPHRASE:" in help_of("user", "add")
    assert all("QMS_SIGNING_PASSPHRASE_FILE:" in help_of(*c) for c in (("release",), ("roster", "approve"),
                                                                       ("protocol", "lock"), ("sign",)))


def test_user_add_help_says_when_name_is_required() -> None:
    """`qms user add --help` marks --name as required for a new key (an imported certificate carries its own name)."""
    out = CliRunner().invoke(make_app(), ["user", "add", "--help"], env={"COLUMNS": "200"}).output
    assert "[required for a new key" in " ".join(out.split())
