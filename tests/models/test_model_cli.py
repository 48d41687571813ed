"""`qms model register | list | show | stage | train`: one library call each, JSON on request, exit 0/1/2."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from qms.cli.main import app
from tests.models.helpers import torch_folder

runner = CliRunner()


def qms(project: Path, *args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["-C", str(project), *args])
    return result.exit_code, result.output


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "device"
    code, out = qms(root, "init", "--device", "Triage", "--intended-use", "Flags CXR.", "--safety-class", "b")
    assert code == 0, out
    return root


def test_register_list_show_and_stage(project: Path, tmp_path: Path) -> None:
    """A folder registered from the CLI is listed, shown with its files and stages, and can be staged."""
    folder = torch_folder(tmp_path / "tiny")
    code, out = qms(project, "model", "register", str(folder), "--name", "tiny", "--version", "1.0", "--json")
    assert code == 0, out
    registered = json.loads(out)
    assert registered["ref"] == "tiny@1.0" and registered["stage"] == "development"
    code, out = qms(project, "model", "stage", "tiny@1.0", "staging", "--reason", "candidate")
    assert code == 0, out
    code, out = qms(project, "model", "list", "--json")
    assert code == 0 and [(v["ref"], v["stage"]) for v in json.loads(out)] == [("tiny@1.0", "staging")]
    code, out = qms(project, "model", "show", "tiny@1.0")
    assert code == 0 and registered["digest"] in out and "staging by unverified:test.engineer" in out


def test_bad_input_exits_2_naming_the_file(project: Path, tmp_path: Path) -> None:
    """A folder without a card exits 2 with the folder named and nothing registered."""
    folder = torch_folder(tmp_path / "tiny")
    (folder / "model_card.yaml").unlink()
    code, out = qms(project, "model", "register", str(folder), "--name", "tiny", "--version", "1.0", "--json")
    assert code == 2
    error, _ = json.JSONDecoder().raw_decode(out)  # the JSON document, then the message on stderr
    assert error["where"] == str(folder.resolve()) and "no model card" in error["message"]
    code, out = qms(project, "model", "list", "--json")
    assert code == 0 and json.loads(out) == []


def test_production_request_outside_a_release_exits_1(project: Path, tmp_path: Path) -> None:
    """Production asked for from the CLI, outside a release, is a refused check (exit 1)."""
    folder = Path(shutil.copytree(torch_folder(tmp_path / "tiny"), tmp_path / "copy"))
    assert qms(project, "model", "register", str(folder), "--name", "tiny", "--version", "1.0")[0] == 0
    code, out = qms(project, "model", "stage", "tiny@1.0", "production", "--reason", "ship")
    assert code == 1 and "only through a signed release" in out
