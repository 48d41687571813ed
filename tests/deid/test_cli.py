"""`qms deid keygen | dicom | verify`: JSON output, exit codes, configuration errors."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from qms.cli.main import app

runner = CliRunner()


def qms(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "device"
    code, out = qms("-C", str(root), "init", "--device", "Triage")
    assert code == 0, out
    return root


@pytest.fixture
def keyfile(tmp_path: Path) -> Path:
    path = tmp_path / "deid.key"
    code, out = qms("deid", "keygen", str(path), "--json")
    assert code == 0, out
    return path


def test_keygen_writes_a_private_key_and_never_overwrites(keyfile: Path) -> None:
    """keygen writes a mode-0600 key and refuses (exit 2) to overwrite an existing one."""
    assert keyfile.stat().st_mode & 0o777 == 0o600
    before = keyfile.read_bytes()
    code, out = qms("deid", "keygen", str(keyfile))
    assert code == 2 and "never overwritten" in out
    assert keyfile.read_bytes() == before


def test_dicom_then_verify_is_clean(project: Path, keyfile: Path, tree: Path, tmp_path: Path) -> None:
    """`qms deid dicom` de-identifies a tree (JSON report), and `qms deid verify` finds no leak (exit 0)."""
    out = tmp_path / "out"
    code, text = qms("-C", str(project), "deid", "dicom", str(tree), str(out), "--key-file", str(keyfile),
                     "--workers", "2", "--json")
    assert code == 0, text
    report = json.loads(text)
    assert report["processed"] == 12 and report["quarantined"] == []
    code, text = qms("deid", "verify", str(out), "--against", str(tree), "--json")
    assert code == 0, text
    assert json.loads(text) == {"clean": True, "files_checked": 12, "unpaired": [], "leaks": []}


def test_verify_exits_1_naming_file_and_tag(tree: Path, tmp_path: Path) -> None:
    """`qms deid verify` exits 1 and names each leaking file and tag (never the value)."""
    fake = tmp_path / "fake"
    shutil.copytree(tree, fake)
    code, text = qms("deid", "verify", str(fake), "--against", str(tree))
    assert code == 1
    assert "(0010,0010)" in text and ".dcm" in text
    assert "Quellmark" not in text and "Rasmundsen" not in text


def test_unknown_option_is_a_usage_error(project: Path, keyfile: Path, tree: Path, tmp_path: Path) -> None:
    """An unknown --option exits 2 with the allowed names; nothing is written."""
    out = tmp_path / "out"
    code, text = qms("-C", str(project), "deid", "dicom", str(tree), str(out), "--key-file", str(keyfile),
                     "--option", "retain_everything")
    assert code == 2 and "retain_uids" in text
    assert not out.exists()


def test_configuration_is_validated(project: Path, keyfile: Path, tree: Path, tmp_path: Path) -> None:
    """A bad [tool.qms.deid] value exits 2 and names the key."""
    config = project / "qms.toml"
    config.write_text(config.read_text() + '\n[tool.qms.deid]\ndate_shift_days = [10, 1]\n')
    code, text = qms("-C", str(project), "deid", "dicom", str(tree), str(tmp_path / "out"), "--key-file", str(keyfile))
    assert code == 2 and "date_shift_days" in text
