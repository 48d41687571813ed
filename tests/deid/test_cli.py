"""`qms deid keygen | dicom | verify`: JSON output, exit codes, configuration errors."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from qms import audit
from qms.cli.main import app
from qms.config import load_project
from qms.store import open_store

runner = CliRunner()


def qms(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


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
    code, text = qms("-C", str(project), "deid", "verify", str(out), "--against", str(tree), "--json")
    assert code == 0, text
    verdict = json.loads(text)
    assert verdict.pop("pixel_text").startswith("shape search")  # and OCR (when-needed) where tesseract is installed
    assert verdict == {"clean": True, "files_checked": 12, "unpaired": [], "leaks": []}
    details = _verify_events(project)[-1]
    assert details["clean"] and details["files_checked"] == 12 and details["batches"] == [report["batch_id"]]


@pytest.mark.skipif(shutil.which("tesseract") is None, reason="tesseract-ocr is not installed")
def test_verify_says_how_pixels_were_read_and_ocr_can_be_chosen(project: Path, keyfile: Path, tree: Path,
                                                                 tmp_path: Path) -> None:
    """`--ocr always|off` sets how verify reads pixel text; the report and its audit event say which; a mode that
    does not exist is a usage error naming it, and records nothing."""
    out = tmp_path / "out"
    assert qms("-C", str(project), "deid", "dicom", str(tree), str(out), "--key-file", str(keyfile))[0] == 0
    for mode, said in (("always", "shape search and OCR (always)"), ("off", "shape search")):
        code, text = qms("-C", str(project), "deid", "verify", str(out), "--against", str(tree), "--ocr", mode,
                         "--json")
        assert code == 0 and json.loads(text)["pixel_text"] == said, text
        assert _verify_events(project)[-1]["pixel_text"] == said
    events = len(_verify_events(project))
    code, text = qms("-C", str(project), "deid", "verify", str(out), "--against", str(tree), "--ocr", "sometimes")
    assert code == 2 and "sometimes" in text and "always" in text
    assert len(_verify_events(project)) == events


def test_verify_exits_1_naming_file_and_tag(project: Path, tree: Path, tmp_path: Path) -> None:
    """`qms deid verify` exits 1 and names each leaking file and tag (never the value); its audit event keeps the
    counts by check and by tag, never a value or a file name."""
    fake = tmp_path / "fake"
    shutil.copytree(tree, fake)
    code, text = qms("-C", str(project), "deid", "verify", str(fake), "--against", str(tree))
    assert code == 1
    assert "(0010,0010)" in text and ".dcm" in text
    assert "Quellmark" not in text and "Rasmundsen" not in text
    details = _verify_events(project)[-1]
    assert not details["clean"] and details["by_place"]["(0010,0010)"] >= 12 and details["batches"] == []
    recorded = json.dumps(details)
    assert "Quellmark" not in recorded and "Rasmundsen" not in recorded and ".dcm" not in recorded


def _verify_events(project: Path) -> list[dict[str, Any]]:
    store = open_store(load_project(project).database_url(), create=False)
    try:
        return [json.loads(e.details) for e in audit.log(store, action="deid.verify")]
    finally:
        store.dispose()


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


def test_keygen_and_dicom_name_a_folder_or_file_given_in_the_wrong_place(project: Path, keyfile: Path,
                                                                       tree: Path, tmp_path: Path) -> None:
    """keygen given a folder, and `deid dicom` given a file as IN, exit 2 saying which it is and what to give."""
    code, out = qms("deid", "keygen", str(tmp_path))
    assert code == 2 and "is a folder: give the key file's path" in out, out
    one = next(p for p in tree.rglob("*") if p.is_file())
    code, out = qms("-C", str(project), "deid", "dicom", str(one), str(tmp_path / "out"), "--key-file", str(keyfile))
    assert code == 2 and "is a file: give the folder of DICOM files" in out, out
    assert not (tmp_path / "out").exists()
