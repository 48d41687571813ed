"""`qms test`, `qms trace` (table, --json, --html) and `qms trace review` through the real CLI."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from tests.traceability.trace_helpers import NEED, git_commit, requirement, write_project
from qms.cli.main import app

TEST_FILE = '''import pytest


@pytest.mark.verifies("REQ-001")
def test_it():
    """The software does the thing."""
'''

runner = CliRunner()


def _qms(root: Path, *args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["-C", str(root), *args])
    return result.exit_code, result.output


def test_the_whole_cycle_from_suspect_to_verified(project_dir: Path, tmp_path: Path) -> None:
    """Unreviewed and untested items fail `qms trace` (exit 1); after review, commit and `qms test` it passes (exit 0)."""
    write_project(project_dir, {"n.yaml": NEED, "r.yaml": requirement("REQ-001", "NEED-001")})
    (project_dir / "tests").mkdir()
    (project_dir / "tests" / "test_req.py").write_text(TEST_FILE, encoding="utf-8")
    assert _qms(project_dir, "store", "migrate")[0] == 0
    code, out = _qms(project_dir, "trace", "--json")
    gaps = {(g["check"], g["item"]) for g in json.loads(out)["gaps"]}
    assert code == 1 and {("suspect_link", "REQ-001"), ("no_test", "REQ-001")} <= gaps
    code, out = _qms(project_dir, "trace", "review", "REQ-001")
    assert code == 0 and "reviewed links to NEED-001" in out
    git_commit(project_dir)
    code, out = _qms(project_dir, "test", "--", "-q", "-p", "no:cacheprovider")
    assert code == 0
    html = tmp_path / "trace.html"
    code, out = _qms(project_dir, "trace", "--html", str(html))
    assert code == 0, out
    assert "0 blocking gaps" in out and "REQ-001" in out
    page = html.read_text(encoding="utf-8")
    assert "The software does the thing." in page and "<script" not in page and "no blocking gaps" in page


def test_review_of_an_unknown_item_is_a_usage_error(project_dir: Path) -> None:
    """`qms trace review` of an id that does not exist exits 2 and names the id."""
    write_project(project_dir, {"n.yaml": NEED})
    _qms(project_dir, "store", "migrate")
    code, out = _qms(project_dir, "trace", "review", "REQ-777")
    assert code == 2 and "REQ-777" in out


def test_review_takes_several_ids_in_one_command(project_dir: Path) -> None:
    """`qms trace review A B` reviews both and prints a line for each; --json gives a list; a bad id changes nothing."""
    write_project(project_dir, {"n.yaml": NEED, "r.yaml": requirement("REQ-001", "NEED-001"),
                                "s.yaml": requirement("REQ-002", "NEED-001")})
    _qms(project_dir, "store", "migrate")
    before = {p.name: p.read_bytes() for p in (project_dir / "design").iterdir()}
    code, out = _qms(project_dir, "trace", "review", "REQ-001", "REQ-777", "REQ-002")
    assert code == 2 and "REQ-777" in out
    assert {p.name: p.read_bytes() for p in (project_dir / "design").iterdir()} == before
    code, out = _qms(project_dir, "trace", "review", "REQ-001", "REQ-002", "--parent", "NEED-001")
    assert code == 2 and "--parent" in out
    code, out = _qms(project_dir, "trace", "review", "REQ-001", "REQ-002")
    assert code == 0 and "REQ-001: reviewed links to NEED-001" in out and "REQ-002: reviewed links to NEED-001" in out
    code, out = _qms(project_dir, "trace", "review", "REQ-001", "REQ-002", "--json")
    assert code == 0 and [r["item"] for r in json.loads(out)] == ["REQ-001", "REQ-002"]
    code, out = _qms(project_dir, "trace", "review", "REQ-001", "--json")
    assert code == 0 and json.loads(out) == {"item": "REQ-001", "file": "design/r.yaml", "reviewed": {}}
