"""The Parquet file table: streamed, sealed by the manifest's own hash, edits and disorder refused."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from qms.compute.local import LocalEngine
from qms.errors import CheckFailed, QmsError
from qms.validation import datasetstream, filetable
from qms.validation.dataset import create_manifest
from qms.validation.datasetstream import create_file_table
from qms.validation.filetable import ManifestHead, read_file_table, write_file_table
from qms.validation.manifest import DatasetManifest, Exclusion, ManifestEntry
from tests.validation.conftest import DatasetMaker


def _entry(i: int) -> ManifestEntry:
    return ManifestEntry(file=f"P{i:07d}/0.dcm", sha256=f"{i:064x}", patient_id=f"P{i:07d}", study_uid=f"1.2.{i}",
                         labels={"effusion": i % 2, "nodule": None if i % 7 else 1},
                         attributes={"site": f"site-{i % 3}", "PatientAge": 40.5 + i % 30})


def _manifest(n: int, **kw: object) -> DatasetManifest:
    return DatasetManifest(name="big", split="test", label_names=("effusion", "nodule"),
                           attribute_names=("PatientAge", "site"), entries=tuple(_entry(i) for i in range(n)),
                           **kw)  # type: ignore[arg-type]


def test_an_existing_manifest_keeps_its_hash_as_a_file_table(dataset_maker: DatasetMaker, tmp_path: Path) -> None:
    """A manifest made by `dataset create` and written as a file table has the same sha256 and entries read back."""
    deid, labels = dataset_maker(8, images_per_patient=2, splits=("test",))
    manifest = create_manifest(deid, labels, split="test", name="cxr-test", description="synthetic, über")
    path = tmp_path / "m.parquet"
    assert write_file_table(path, ManifestHead.of(manifest), manifest.entries) == manifest.sha256
    table = read_file_table(path)
    assert table.sha256 == manifest.sha256 and table.files == 16
    assert table.to_manifest() == manifest and table.to_manifest().sha256 == manifest.sha256


def test_rows_span_row_groups_and_exclusions_keep_the_hash(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Over several row groups and with exclusions, the streamed hash is the in-memory manifest's."""
    monkeypatch.setattr(filetable, "ROW_GROUP", 7)
    manifest = _manifest(40, exclusions=(Exclusion("Z/1.dcm", "motion artefact", "PZ"),))
    path = tmp_path / "m.parquet"
    assert write_file_table(path, ManifestHead.of(manifest), iter(manifest.entries)) == manifest.sha256
    assert pq.ParquetFile(path).num_row_groups == 6
    assert list(read_file_table(path).entries()) == list(manifest.entries)


def test_an_edited_row_is_refused_on_reading(tmp_path: Path) -> None:
    """A row changed after the table was written makes reading it fail with the stored and found hashes."""
    manifest = _manifest(5)
    path = tmp_path / "m.parquet"
    write_file_table(path, ManifestHead.of(manifest), manifest.entries)
    table = pq.read_table(path)
    rows = table.column("row").to_pylist()
    rows[2] = rows[2].replace('"effusion":0', '"effusion":1')
    meta = pq.ParquetFile(path).metadata.metadata
    pq.write_table(table.set_column(4, "row", pa.array(rows)).replace_schema_metadata(meta), path)
    with pytest.raises(CheckFailed, match="stored hash"):
        list(read_file_table(path).entries())


def test_rows_out_of_file_order_are_refused(tmp_path: Path) -> None:
    """Rows must come in file order, each file once: the hash is the sorted manifest's, so disorder is refused."""
    manifest = _manifest(3)
    with pytest.raises(QmsError, match="file order") as caught:
        write_file_table(tmp_path / "m.parquet", ManifestHead.of(manifest), reversed(manifest.entries))
    assert caught.value.where == str(tmp_path / "m.parquet")
    assert not (tmp_path / "m.parquet").exists()


@pytest.mark.parametrize("workers", [1, 2])
def test_streamed_create_gives_the_in_memory_manifest(dataset_maker: DatasetMaker, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch, workers: int) -> None:
    """`create_file_table`, chunk by chunk on an engine, seals the same manifest and hash as `create_manifest`."""
    monkeypatch.setattr(datasetstream, "CHUNK", 5)
    deid, labels = dataset_maker(9, images_per_patient=2, splits=("train", "test"))
    manifest = create_manifest(deid, labels, split="test", name="cxr", label_columns=["pneumothorax", "effusion"])
    table = create_file_table(deid, labels, tmp_path / "m.parquet", split="test", name="cxr",
                              label_columns=["pneumothorax", "effusion"], engine=LocalEngine(workers))
    assert table.sha256 == manifest.sha256 and table.to_manifest() == manifest
