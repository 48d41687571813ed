"""The dataset, protocol and validate commands: output, --json, exit codes, records."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from qms.cli.main import app
from qms.store import open_store
from qms.validation.records import DatasetRecord
from tests.validation.runs import QMS_TOML
from tests.validation.synthetic import PROTOCOL, make_dataset


def _project(tmp_path: Path) -> tuple[Path, Path, Path]:
    (tmp_path / "qms.toml").write_text(QMS_TOML)
    deid, labels = make_dataset(tmp_path / "data", 6, splits=("train", "test"))
    return tmp_path, deid, labels


def test_dataset_create_writes_the_manifest_and_records_it(tmp_path: Path) -> None:
    """`qms dataset create` writes the manifest, records it in the store with an audit event, and reports its hash."""
    root, deid, labels = _project(tmp_path)
    out = root / "data" / "manifests" / "test.json"
    result = CliRunner().invoke(app, ["-C", str(root), "dataset", "create", str(deid), "--labels", str(labels),
                                      "--split", "test", "--out", str(out), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["files"] == 3 and data["sha256"] == json.loads(out.read_text())["sha256"]
    store = open_store(f"sqlite:///{root / '.qms' / 'qms.db'}")
    assert [r.sha256 for r in store.all(DatasetRecord)] == [data["sha256"]]
    shown = CliRunner().invoke(app, ["-C", str(root), "dataset", "show", str(out), "--json"])
    assert shown.exit_code == 0 and json.loads(shown.stdout)["sha256"] == data["sha256"]


def test_bad_labels_table_exits_2_with_the_line(tmp_path: Path) -> None:
    """A labels row naming a missing file exits 2 with file:line, and writes no manifest."""
    root, deid, labels = _project(tmp_path)
    with labels.open("a") as f:
        f.write("missing/0.dcm,test,1,0,site-0\n")
    out = root / "m.json"
    result = CliRunner().invoke(app, ["-C", str(root), "dataset", "create", str(deid), "--labels", str(labels),
                                      "--split", "test", "--out", str(out)])
    assert result.exit_code == 2
    assert f"{labels}:8" in result.output.replace("\n", "")
    assert not out.exists()


def test_protocol_check_reports_errors_as_json(tmp_path: Path) -> None:
    """`qms protocol check --json` exits 2 on an unknown metric and says where."""
    path = tmp_path / "p.yaml"
    text = PROTOCOL.replace("metric: auroc", "metric: accuracy", 1)
    path.write_text(text)
    line = text.splitlines().index("    metric: accuracy") + 1
    result = CliRunner().invoke(app, ["protocol", "check", str(path), "--json"])
    assert result.exit_code == 2
    err = json.loads(result.stdout)
    assert err["where"] == f"{path}:{line}" and "accuracy" in err["message"]


def test_validate_show_of_an_unknown_run_exits_2(tmp_path: Path) -> None:
    """`qms validate show` of a run that does not exist is a usage error."""
    root, _, _ = _project(tmp_path)
    CliRunner().invoke(app, ["-C", str(root), "store", "migrate"])
    result = CliRunner().invoke(app, ["-C", str(root), "validate", "show", "nosuchrun"])
    assert result.exit_code == 2 and "no validation run" in result.output
