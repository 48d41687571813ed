"""`qms dataset create` streamed: any row order, both manifest forms, storage URLs, flat memory."""

from __future__ import annotations

import importlib.util
import json
import random
import subprocess
import sys
from pathlib import Path

import fsspec
import pytest
from typer.testing import CliRunner

from qms.cli.main import app
from qms.compute.storage import Storage
from qms.errors import QmsError
from qms.store import open_store
from qms.validation import datasetstream
from qms.validation.dataset import create_manifest
from qms.validation.datasetstream import create_file_table, write_manifest
from qms.validation.filetable import read_file_table, read_manifest
from qms.validation.lock import stored_manifest
from qms.validation.manifest import DatasetManifest
from tests.validation.conftest import DatasetMaker
from tests.validation.runs import QMS_TOML

_MEMORY_PROBE = Path(__file__).with_name("memory_probe.py")


def _shuffled(labels: Path, seed: int) -> None:
    header, *rows = labels.read_text().splitlines()
    random.Random(seed).shuffle(rows)
    labels.write_text("\n".join([header, *rows]) + "\n")


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_rows_in_any_order_give_the_in_memory_manifest(dataset_maker: DatasetMaker, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch, seed: int) -> None:
    """A labels table in any row order, sorted on disk in runs and merged, seals `create_manifest`'s manifest,
    label columns found in the same stream."""
    monkeypatch.setattr(datasetstream, "RUN", 4)
    monkeypatch.setattr(datasetstream, "CHUNK", 3)
    deid, labels = dataset_maker(11, images_per_patient=2, splits=("train", "test"))
    _shuffled(labels, seed)
    expected = create_manifest(deid, labels, split="test", name="cxr")
    table = create_file_table(deid, labels, tmp_path / "m.parquet", split="test", name="cxr")
    assert table.head.label_names == expected.label_names
    assert table.sha256 == expected.sha256 and table.to_manifest() == expected
    assert sorted(p.name for p in tmp_path.iterdir()) == ["deid", "labels.csv", "m.parquet"]


def test_the_json_form_is_the_in_memory_manifests_bytes(dataset_maker: DatasetMaker, tmp_path: Path) -> None:
    """A `.json` output streamed from the file table is byte for byte what `DatasetManifest.dumps` writes,
    and both forms read back as the same manifest."""
    deid, labels = dataset_maker(7, images_per_patient=2, splits=("test",))
    expected = create_manifest(deid, labels, split=None, name="cxr", description="synthetic, über")
    out = tmp_path / "out"
    written = write_manifest(deid, labels, out / "m.json", split=None, name="cxr", description="synthetic, über")
    assert (out / "m.json").read_text(encoding="utf-8") == expected.dumps()
    assert (written.sha256, written.files, written.patients) == (expected.sha256, 14, 7)
    write_manifest(deid, labels, out / "m.parquet", split=None, name="cxr", description="synthetic, über")
    assert read_manifest(out / "m.parquet") == read_manifest(out / "m.json") == DatasetManifest.from_file(out / "m.json")
    assert sorted(p.name for p in out.iterdir()) == ["m.json", "m.parquet"]


def test_a_file_listed_twice_is_refused_with_both_lines(dataset_maker: DatasetMaker, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """A file on two rows of the labels table is refused, naming the second line and the first; nothing is written."""
    monkeypatch.setattr(datasetstream, "RUN", 3)
    deid, labels = dataset_maker(6)
    lines = labels.read_text().splitlines()
    labels.write_text("\n".join([*lines, lines[2]]) + "\n")
    with pytest.raises(QmsError, match="listed twice.*line 3") as caught:
        create_file_table(deid, labels, tmp_path / "out" / "m.parquet", split=None, name="x")
    assert caught.value.where == f"{labels}:{len(lines) + 1}"
    assert list((tmp_path / "out").iterdir()) == []


def test_a_split_no_row_has_is_refused_naming_the_splits_there_are(dataset_maker: DatasetMaker, tmp_path: Path) -> None:
    """`--split Test` where the table says `test`: refused by both writers, with the near name and every split."""
    deid, labels = dataset_maker(4, splits=("train", "test"))
    for make in (lambda: create_manifest(deid, labels, split="Test", name="x"),
                 lambda: create_file_table(deid, labels, tmp_path / "m.parquet", split="Test", name="x")):
        with pytest.raises(QmsError, match="no row of the labels table has split 'Test'") as caught:
            make()
        assert caught.value.hint == "did you mean 'test'? splits in the table: 'test', 'train'"
    assert not (tmp_path / "m.parquet").exists()


def test_a_memory_url_gives_the_local_folders_manifest(dataset_maker: DatasetMaker, tmp_path: Path) -> None:
    """The same files behind an fsspec URL (the memory filesystem) give the manifest of the local folder."""
    deid, labels = dataset_maker(5, images_per_patient=2)
    fs = fsspec.filesystem("memory")
    for path in deid.rglob("*.dcm"):
        fs.pipe(f"/qms-test-{tmp_path.name}/{path.relative_to(deid).as_posix()}", path.read_bytes())
    url = f"memory://qms-test-{tmp_path.name}"
    try:
        assert sorted(Storage(url).files()) == sorted(p.relative_to(deid).as_posix() for p in deid.rglob("*.dcm"))
        table = create_file_table(url, labels, tmp_path / "m.parquet", split=None, name="cxr")
        assert table.sha256 == create_manifest(deid, labels, split=None, name="cxr").sha256
    finally:
        fs.rm(f"/qms-test-{tmp_path.name}", recursive=True)


def test_a_url_whose_package_is_missing_is_named(tmp_path: Path) -> None:
    """An s3:// or gs:// URL without its fsspec package installed is refused naming the package to install."""
    missing = [(url, package) for url, package in (("s3://bucket/deid", "s3fs"), ("gs://bucket/deid", "gcsfs"))
               if importlib.util.find_spec(package) is None]
    if not missing:
        pytest.skip("s3fs and gcsfs are both installed")
    for url, package in missing:
        with pytest.raises(QmsError, match=package) as caught:
            Storage(url)
        assert caught.value.where == url and package in (caught.value.hint or "")


def test_cli_writes_a_file_table_the_store_finds_by_hash(tmp_path: Path) -> None:
    """`qms dataset create --out x.parquet` writes the file table, keeps its head and place in the store, and
    `dataset show` and the store read it back with the same hash."""
    from tests.validation.synthetic import make_dataset

    (tmp_path / "qms.toml").write_text(QMS_TOML)
    deid, labels = make_dataset(tmp_path / "data", 6, splits=("train", "test"))
    out = tmp_path / "m.parquet"
    result = CliRunner().invoke(app, ["-C", str(tmp_path), "dataset", "create", str(deid), "--labels", str(labels),
                                      "--split", "test", "--out", str(out), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["sha256"] == read_file_table(out).sha256 == create_manifest(deid, labels, split="test",
                                                                             name="m").sha256
    assert (data["files"], data["patients"], data["studies"]) == (3, 3, 3)
    shown = CliRunner().invoke(app, ["-C", str(tmp_path), "dataset", "show", str(out), "--json"])
    assert shown.exit_code == 0 and json.loads(shown.stdout)["sha256"] == data["sha256"]
    found = stored_manifest(open_store(f"sqlite:///{tmp_path / '.qms' / 'qms.db'}"), data["sha256"])
    assert found is not None and found.sha256 == data["sha256"]


def _peak(rows: int, tmp_path: Path) -> int:
    done = subprocess.run([sys.executable, str(_MEMORY_PROBE), str(rows), str(tmp_path / f"probe-{rows}")],
                          capture_output=True, text=True, check=True)
    return int(done.stdout.split()[-1])


@pytest.mark.slow
def test_peak_memory_does_not_grow_with_the_files(tmp_path: Path) -> None:
    """The streamed `dataset create` allocates about as much at its peak for 5,000 listed files as for 500
    (Python allocations traced in a fresh process; small runs, chunks and row groups so both sizes span many)."""
    small, large = _peak(500, tmp_path), _peak(5_000, tmp_path)
    assert large < 2 * small, (small, large)
