"""Dataset manifests with hashing on Ray workers: the same manifest and hash as in this process."""

from __future__ import annotations

from pathlib import Path

import pytest

from qms.compute.local import LocalEngine
from qms.compute.ray_engine import RayEngine
from qms.errors import QmsError
from qms.validation.dataset import create_manifest
from tests.validation.synthetic import make_dataset

pytestmark = pytest.mark.xdist_group("ray")


def test_manifest_on_ray_has_the_local_hash(tmp_path: Path, ray_engine: RayEngine) -> None:
    """Hashing and header reads on Ray give the manifest, and so the sha256, of the local engine."""
    deid, labels = make_dataset(tmp_path, 30, images_per_patient=2, splits=("train", "test"))
    local = create_manifest(deid, labels, split="test", name="cxr-test", engine=LocalEngine(2))
    on_ray = create_manifest(deid, labels, split="test", name="cxr-test", engine=ray_engine)
    assert on_ray.sha256 == local.sha256 == create_manifest(deid, labels, split="test", name="cxr-test").sha256
    assert len(on_ray.entries) == 30


def test_a_missing_file_on_ray_names_its_labels_row(tmp_path: Path, ray_engine: RayEngine) -> None:
    """A listed file that is not there is refused on Ray as locally: the labels table's line is named."""
    deid, labels = make_dataset(tmp_path, 4)
    lines = labels.read_text().splitlines()
    missing = lines[3].split(",")[0]
    (deid / missing).unlink()
    with pytest.raises(QmsError) as caught:
        create_manifest(deid, labels, split="test", name="t", engine=ray_engine)
    assert caught.value.where == f"{labels}:4" and missing in caught.value.message


def test_streamed_manifest_on_ray_has_the_local_hash(tmp_path: Path, ray_engine: RayEngine) -> None:
    """`qms dataset create`'s streamed path, hashing on Ray workers, seals the local engine's manifest hash."""
    from qms.validation.datasetstream import write_manifest

    deid, labels = make_dataset(tmp_path, 12, images_per_patient=2, splits=("train", "test"))
    on_ray = write_manifest(deid, labels, tmp_path / "out" / "m.parquet", split="test", name="cxr-test",
                            engine=ray_engine)
    assert on_ray.sha256 == create_manifest(deid, labels, split="test", name="cxr-test").sha256
    assert (on_ray.files, on_ray.patients) == (12, 6)
