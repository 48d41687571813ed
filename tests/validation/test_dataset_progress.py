"""`qms dataset create` reports its progress: the library through a callback, the CLI as a bar on stderr."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from qms.cli import output
from qms.cli.main import app
from qms.validation.datasetstream import create_file_table
from tests.validation.conftest import DatasetMaker
from tests.validation.runs import QMS_TOML
from tests.validation.synthetic import make_dataset


def test_the_library_reports_the_total_then_each_file(dataset_maker: DatasetMaker, tmp_path: Path) -> None:
    """`create_file_table` tells its callback the number of files of the split once, then each file hashed."""
    deid, labels = dataset_maker(5, images_per_patient=2)
    calls: list[tuple[int, str]] = []
    create_file_table(deid, labels, tmp_path / "m.parquet", split=None, name="cxr",
                      progress=lambda total, status: calls.append((total, status)))
    assert calls == [(10, "")] + [(0, "hashed")] * 10


@pytest.mark.parametrize("json_out", [False, True])
def test_the_cli_draws_a_bar_on_stderr_but_not_with_json(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                         json_out: bool) -> None:
    """On a terminal, `dataset create` draws a progress bar of the files hashed on stderr; with `--json` it draws
    none and stdout is the JSON document alone."""
    (tmp_path / "qms.toml").write_text(QMS_TOML)
    deid, labels = make_dataset(tmp_path / "data", 4)
    stderr = io.StringIO()
    monkeypatch.setattr(output, "err_console", Console(file=stderr, force_terminal=True, width=100))
    args = ["-C", str(tmp_path), "dataset", "create", str(deid), "--labels", str(labels),
            "--out", str(tmp_path / "m.json")]
    result = CliRunner().invoke(app, args + (["--json"] if json_out else []))
    assert result.exit_code == 0, result.output
    if json_out:
        assert stderr.getvalue() == "" and json.loads(result.stdout)["files"] == 4
    else:
        assert "hashing" in stderr.getvalue() and "4/4" in stderr.getvalue()
