"""`qms init` records which store the project uses, for SQLite and PostgreSQL, never with a password."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from qms.cli.main import app

runner = CliRunner()


def _qms(*args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    result = runner.invoke(app, list(args), env=env)
    return result.exit_code, result.output


def _configured_url(root: Path) -> str:
    return str(tomllib.loads((root / "qms.toml").read_text(encoding="utf-8"))["tool"]["qms"]["database_url"])


@pytest.mark.postgres
def test_init_on_postgresql_records_the_store_without_its_password(postgres_url: str, tmp_path: Path) -> None:
    """With QMS_DATABASE_URL on PostgreSQL, init succeeds, the config names that store without the password, and later commands use it."""
    root = tmp_path / "device"
    with_password = make_url(postgres_url).set(password="s3cret-pass").render_as_string(hide_password=False)
    code, out = _qms("-C", str(root), "init", "--device", "D", env={"QMS_DATABASE_URL": with_password})
    assert code == 0, out
    assert (root / ".qms" / ".gitignore").is_file()
    recorded = _configured_url(root)
    assert "s3cret-pass" not in (root / "qms.toml").read_text(encoding="utf-8")
    assert make_url(recorded).set(password=None) == make_url(postgres_url).set(password=None)
    code, out = _qms("-C", str(root), "audit", "log", "--json", env={"QMS_DATABASE_URL": ""})
    assert code == 0, out
    assert [e["action"] for e in json.loads(out)] == ["project.init"]
    assert not (root / ".qms" / "qms.db").exists()


def test_init_on_sqlite_records_a_store_relative_to_the_project(tmp_path: Path) -> None:
    """Without QMS_DATABASE_URL, init records the project's own SQLite store, relative to the project root."""
    root = tmp_path / "device"
    code, out = _qms("-C", str(root), "init", "--device", "D", env={"QMS_DATABASE_URL": ""})
    assert code == 0, out
    assert _configured_url(root) == "sqlite:///.qms/qms.db"
    code, out = _qms("-C", str(root), "audit", "log", "--json", env={"QMS_DATABASE_URL": ""})
    assert code == 0 and [e["action"] for e in json.loads(out)] == ["project.init"]


def test_commands_find_the_project_from_a_subfolder(tmp_path: Path) -> None:
    """A command run in a folder inside the project (-C design/sub) finds the project and its store, as git does."""
    root = tmp_path / "device"
    code, out = _qms("-C", str(root), "init", "--device", "D", env={"QMS_DATABASE_URL": ""})
    assert code == 0, out
    inside = root / "design" / "sub"
    inside.mkdir(parents=True)
    code, out = _qms("-C", str(inside), "audit", "log", "--json", env={"QMS_DATABASE_URL": ""})
    assert code == 0, out
    assert [e["action"] for e in json.loads(out)] == ["project.init"]
    assert not (inside / ".qms").exists()


def test_init_inside_a_project_refuses_unless_nested(tmp_path: Path) -> None:
    """`qms init` in a subfolder of a project refuses (exit 2, naming the parent's qms.toml) and writes nothing; --nested allows it."""
    root = tmp_path / "device"
    code, out = _qms("-C", str(root), "init", "--device", "D", env={"QMS_DATABASE_URL": ""})
    assert code == 0, out
    inside = root / "design"
    code, out = _qms("-C", str(inside), "init", "--device", "Y", env={"QMS_DATABASE_URL": ""})
    assert code == 2 and str(root / "qms.toml") in out and "--nested" in out
    assert not (inside / "qms.toml").exists() and not (inside / ".qms").exists()
    code, out = _qms("-C", str(inside), "init", "--device", "Y", "--nested", env={"QMS_DATABASE_URL": ""})
    assert code == 0, out
    assert (inside / "qms.toml").is_file()
