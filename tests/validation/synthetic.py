"""Synthetic de-identified DICOM datasets and labels tables for the validation tests.

Every file is generated here from a seed: pseudonymous ids, no pixel content of note,
no real patient data (STYLE habit 14).
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from pydicom.uid import generate_uid

from qms.errors import QmsError
from qms.synthetic_dicom import SyntheticPatient, SyntheticUids, synthetic_image
from qms.validation.dataset import create_manifest
from qms.validation.manifest import DatasetManifest
from qms.validation.protocolparser import read_protocol

DatasetMaker = Callable[..., tuple[Path, Path]]


def write_dicom(path: Path, *, patient: str, study: str, sex: str, age: str, manufacturer: str,
                pixels: np.ndarray | None = None, key: str | None = None) -> None:
    """A tiny DX header with a 32x32 image (smoothed noise seeded by `key`, so distinct files look distinct)."""
    key = key or str(path)
    if pixels is None:
        noise = np.random.default_rng(list(key.encode())).normal(size=(36, 36))
        smooth = sum(np.roll(np.roll(noise, dy, 0), dx, 1) for dy in range(3) for dx in range(3))[2:34, 2:34]
        pixels = np.clip(2048 + 400 * smooth, 0, 4095).astype(np.uint16)
    ds = synthetic_image(pixels.astype(np.uint16), bits_stored=12,
                         uids=SyntheticUids(generate_uid(entropy_srcs=[key, "sop"]), study=study,
                                            series=generate_uid(entropy_srcs=[key])),
                         patient=SyntheticPatient(patient, sex=sex, age=age),
                         attributes={"Manufacturer": manufacturer, "ViewPosition": "PA"})
    path.parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(path, enforce_file_format=True)


def make_dataset(root: Path, n_patients: int, *, images_per_patient: int = 1, seed: int = 0,
                 splits: Sequence[str] = ("test",), prefix: str = "P") -> tuple[Path, Path]:
    """A de-identified folder and its labels.csv: `file, split, pneumothorax, effusion, site`."""
    rng = np.random.default_rng(seed)
    deid, labels = root / "deid", root / "labels.csv"
    rows = []
    for p in range(n_patients):
        patient = f"{prefix}{p:05d}"
        split = splits[p % len(splits)]
        study = generate_uid(entropy_srcs=[prefix, str(p), str(seed)])
        sex = "MF"[(p // 2) % 2]
        age = f"{int(rng.integers(18, 95)):03d}Y"
        manufacturer = ("ACME", "Globex", "Initech")[p % 3]
        for i in range(images_per_patient):
            rel = f"{patient}/{i}.dcm"
            write_dicom(deid / rel, patient=patient, study=study, sex=sex, age=age, manufacturer=manufacturer,
                        key=f"{prefix}/{rel}/{seed}")
            rows.append({"file": rel, "split": split, "pneumothorax": int(rng.random() < 0.5),
                         "effusion": int(rng.random() < 0.3), "site": f"site-{p % 4}"})
    with labels.open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=["file", "split", "pneumothorax", "effusion", "site"])
        w.writeheader()
        w.writerows(rows)
    return deid, labels




PROTOCOL = """\
id: VAL-T
version: "1.0"
title: synthetic test protocol
model:
  ref: toy@1.0.0
dataset:
  manifest: data/manifests/test.json
  root: data/deid
training_manifests: [data/manifests/train.json]
labels: [pneumothorax, effusion]
seed: 7
ci: {method: bootstrap-percentile, level: 0.95, resamples: 200}
endpoints:
  - id: AUROC
    metric: auroc
    label: pneumothorax
    role: primary
    ci: {method: delong}
    acceptance: lower >= 0.6
  - id: SENS
    metric: sensitivity
    label: pneumothorax
    threshold: 0.5
    role: primary
    acceptance: lower >= 0.5
  - id: MEAN
    metric: mean_auroc
    role: secondary
subgroups:
  label: pneumothorax
  threshold: 0.5
  metrics: [auroc, sensitivity]
  min_size: 10
  attributes:
    - attribute: PatientSex
    - attribute: PatientAge
      bins: [18, 50]
    - attribute: site
bias:
  - id: GAP
    kind: max_gap
    metric: sensitivity
    attribute: PatientSex
    max: 0.5
  - id: EOD
    kind: equalized_odds_difference
    attribute: PatientSex
    max: 0.9
multiplicity:
  method: bonferroni
  family: all subgroup intervals
  statement: Bonferroni-adjusted subgroup intervals; descriptive.
"""


@dataclass(frozen=True)
class ToyPredictions:
    """Deterministic scores that track the reference labels: what a decent model would output."""

    labels: tuple[str, ...]
    probabilities: np.ndarray
    failures: dict[int, str]
    environment: dict[str, object]


def toy_predictor(separation: float = 2.0, fail: Sequence[int] = ()) -> Callable[..., ToyPredictions]:
    def predict(lock: object, manifest: DatasetManifest, data_root: Path) -> ToyPredictions:
        rng = np.random.default_rng(int(manifest.sha256[:8], 16))
        labels = manifest.label_names
        y = np.array([[e.labels[n] for n in labels] for e in manifest.entries], dtype=np.float64)
        p = 1 / (1 + np.exp(-(separation * (y - 0.5) + rng.normal(size=y.shape))))
        p[list(fail)] = np.nan
        return ToyPredictions(labels, p, {i: "unreadable (synthetic failure)" for i in fail}, {"device": "cpu"})
    return predict


def repeatable_predictor(separation: float = 2.0) -> Callable[..., ToyPredictions]:
    """Scores that depend on each case alone (noise seeded by its file hash): any subset run again repeats them."""
    def predict(lock: object, manifest: DatasetManifest, data_root: Path) -> ToyPredictions:
        labels = manifest.label_names
        y = np.array([[e.labels[n] for n in labels] for e in manifest.entries], dtype=np.float64)
        noise = np.array([np.random.default_rng(int(e.sha256[:16], 16)).normal(size=len(labels)) for e in manifest.entries])
        return ToyPredictions(labels, 1 / (1 + np.exp(-(separation * (y - 0.5) + noise))), {}, {"device": "cpu"})
    return predict


def make_project(root: Path, n_patients: int = 60, *, images_per_patient: int = 1, protocol: str = PROTOCOL) -> Path:
    """A device project folder: de-identified data, train and test manifests, one protocol."""
    deid, labels = make_dataset(root / "data", n_patients, images_per_patient=images_per_patient, splits=("train", "test"))
    (root / "data" / "manifests").mkdir(parents=True)
    for split in ("train", "test"):
        m = create_manifest(deid, labels, split=split, name=f"toy-{split}")
        (root / "data" / "manifests" / f"{split}.json").write_text(m.dumps())
    (root / "protocols").mkdir()
    (root / "protocols" / "p.yaml").write_text(protocol)
    return root / "protocols" / "p.yaml"


def toy_identity(root: Path, digest: str = "ab" * 32) -> Callable[[str], tuple[str, tuple[str, ...]]]:
    train = DatasetManifest.from_file(root / "data" / "manifests" / "train.json").sha256
    return lambda ref: (digest, (train,))


def write_protocol(tmp_path: Path, text: str) -> Path:
    """The protocol text as a file, for the parser's tests."""
    path = tmp_path / "p.yaml"
    path.write_text(text)
    return path


def line_of(text: str, needle: str) -> int:
    """The 1-based line of the first line of `text` holding `needle` (where an error must point)."""
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def assert_refused_at(tmp_path: Path, text: str, needle: str, message: str, offset: int = 0) -> QmsError:
    """Parsing the protocol `text` is refused with `message`, at the line holding `needle` (plus `offset`)."""
    path = write_protocol(tmp_path, text)
    with pytest.raises(QmsError, match=message) as info:
        read_protocol(path)
    assert info.value.where == f"{path}:{line_of(text, needle) + offset}"
    return info.value
