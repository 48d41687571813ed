"""Batched inference gives per-case probabilities per label, per-case failures, and the run's environment."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from qms.models.fileset import FileSet
from qms.models.inference import predict, predict_manifest
from qms.models.loaders import LoadedModel, load_folder
from qms.models.errors import ModelError
from qms.validation.manifest import DatasetManifest, ManifestEntry
from qms.hashing import sha256_file
from tests.models.helpers import LABELS, dicom, vit_folder, write


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> LoadedModel:
    folder = vit_folder(tmp_path_factory.mktemp("vit") / "model")
    return load_folder(folder, ref="vit@1", digest=FileSet.of_folder(folder).digest)


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    root = tmp_path_factory.mktemp("images")
    rng = np.random.default_rng(7)
    paths = [write(dicom(rng.integers(0, 4096, (24, 20)).astype(np.uint16)), root / f"{i}.dcm") for i in range(7)]
    nopixels = dicom()
    del nopixels.PixelData
    paths.insert(3, write(nopixels, root / "nopixels.dcm"))
    return paths


def test_probabilities_per_case_and_failures_per_case(model: LoadedModel, files: list[Path]) -> None:
    """Every readable case gets one probability per label in input order; an unreadable one is a named failure."""
    result = predict(model, files, batch_size=3)
    assert result.labels == LABELS and result.probabilities.shape == (8, 3)
    assert set(result.failures) == {3} and "no Pixel Data" in result.failures[3] and str(files[3]) in result.failures[3]
    assert np.isnan(result.probabilities[3]).all()
    good = np.delete(result.probabilities, 3, axis=0)
    assert ((good > 0) & (good < 1)).all()
    assert result.to_json()["cases"][3]["probabilities"] is None


def test_batching_and_workers_do_not_change_results(model: LoadedModel, files: list[Path]) -> None:
    """Batch size and loader workers change only speed: probabilities agree to 1e-6."""
    one = predict(model, files, batch_size=1)
    many = predict(model, files, batch_size=8, workers=1)
    np.testing.assert_allclose(one.probabilities, many.probabilities, atol=1e-6)
    assert one.failures == many.failures


def test_environment_is_recorded(model: LoadedModel, files: list[Path]) -> None:
    """The result states device, precision, batch size and library versions, as a validation report needs."""
    env = predict(model, files[:2], batch_size=2, device="cpu").environment
    assert env["device"] == "cpu" and env["precision"] == "fp32" and env["batch_size"] == 2
    assert env["torch"] == torch.__version__ and env["transformers"] and env["cuda"] is None


def test_fp16_is_refused_on_cpu(model: LoadedModel, files: list[Path]) -> None:
    """fp16 is a CUDA precision; asking for it on CPU is a usage error, not a silent fp32 run."""
    with pytest.raises(ModelError, match="precision fp16 is for CUDA"):
        predict(model, files[:1], device="cpu", precision="fp16")


def test_manifest_inference_names_cases_and_refuses_changed_files(
    model: LoadedModel, files: list[Path], tmp_path: Path,
) -> None:
    """Over a manifest, cases are named by their manifest path; a file whose hash changed is a failure."""
    root = files[0].parent
    entries = [ManifestEntry(file=p.name, sha256=sha256_file(p), patient_id=f"P{i}", study_uid=f"1.2.{i}",
                             labels={n: 0 for n in LABELS}) for i, p in enumerate(files[:3])]
    entries[1] = ManifestEntry(file=entries[1].file, sha256="0" * 64, patient_id="P1", study_uid="1.2.1",
                               labels={n: 0 for n in LABELS})
    manifest = DatasetManifest(name="t", split="test", label_names=LABELS, attribute_names=(), entries=tuple(entries))
    result = predict_manifest(model, manifest, root, batch_size=2)
    assert result.cases == tuple(e.file for e in manifest.entries)
    changed = result.cases.index(files[1].name)
    assert set(result.failures) == {changed} and "differs from the manifest" in result.failures[changed]
    assert result.environment["manifest_sha256"] == manifest.sha256
