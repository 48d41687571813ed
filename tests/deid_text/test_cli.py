"""`qms deid reports` end to end: outputs, exit codes, one audit event per batch."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from qms.cli.main import app
from qms.deid.keying import DeidKey

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "cxr-triage" / "qms.toml"


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "project"
    root.mkdir()
    shutil.copy(EXAMPLE, root / "qms.toml")
    monkeypatch.chdir(root)
    DeidKey.generate(tmp_path / "deid.key")
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "r1.txt").write_text("PatientID: 12345678\nd/w Jane Roe RN on 3/4/21. Foley catheter in place.")
    return root


def test_reports_command_writes_outputs_and_audits(project: Path, tmp_path: Path) -> None:
    """A clean batch exits 0, writes the de-identified report and manifest, and appends one deid.reports event."""
    runner = CliRunner()
    result = runner.invoke(app, ["deid", "reports", str(tmp_path / "raw"), str(tmp_path / "out"),
                                 "--key-file", str(tmp_path / "deid.key"), "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert (summary["files"], summary["reports"], summary["quarantined"]) == (1, 1, 0)
    [output] = [p for p in (tmp_path / "out").glob("*.txt")]
    text = output.read_text()
    assert "Jane Roe" not in text and "3/4/21" not in text and "12345678" not in text and "Foley catheter" in text
    log = runner.invoke(app, ["audit", "log", "--action", "deid.reports", "--json"])
    assert log.exit_code == 0 and len(json.loads(log.stdout)) == 1


def test_quarantine_exits_1_and_a_bad_key_exits_2(project: Path, tmp_path: Path) -> None:
    """A quarantined file makes the command exit 1; a short key file is a usage error (exit 2)."""
    (tmp_path / "raw" / "bad.txt").write_bytes(b"\xff\xfe")
    runner = CliRunner()
    result = runner.invoke(app, ["deid", "reports", str(tmp_path / "raw"), str(tmp_path / "out"),
                                 "--key-file", str(tmp_path / "deid.key")])
    assert result.exit_code == 1 and "not UTF-8" in result.output
    (tmp_path / "short.key").write_text("abcd\n")
    result = runner.invoke(app, ["deid", "reports", str(tmp_path / "raw"), str(tmp_path / "out2"),
                                 "--key-file", str(tmp_path / "short.key")])
    assert result.exit_code == 2 and "at least 32" in result.output


def test_skipped_inputs_are_named_and_exit_1_without_a_check_mark(project: Path, tmp_path: Path) -> None:
    """A skipped input is listed, the command exits 1, and its summary carries ✗, never ✓."""
    (tmp_path / "raw" / "scan.bin").write_bytes(b"\x00\x01")
    runner = CliRunner()
    result = runner.invoke(app, ["deid", "reports", str(tmp_path / "raw"), str(tmp_path / "out"),
                                 "--key-file", str(tmp_path / "deid.key")])
    assert result.exit_code == 1, result.output
    assert "scan.bin: skipped" in result.output and "1 skipped" in result.output
    assert "✓" not in result.output and "✗" in result.output
