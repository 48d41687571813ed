"""Near-duplicate images between the test set and training (VALIDATION.md, independence evidence)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pydicom
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qms.errors import QmsError
from qms.store import Store, open_store
from qms.validation.dataset import create_manifest
from qms.validation.neardup import clear_cache, dhash, distances
from qms.validation.protocolparser import read_protocol
from tests.validation.runs import lock_and_run as _lock_and_run
from tests.validation.synthetic import PROTOCOL, make_project


@pytest.fixture
def sqlite_store(sqlite_url: str) -> Store:
    return open_store(sqlite_url)


def _smuggle_training_image(root: Path) -> tuple[str, str]:
    """Overwrite the first test image with a training image, re-windowed and lightly noised, under the test patient's ids."""
    train = json.loads((root / "data/manifests/train.json").read_text())["entries"][0]
    test = json.loads((root / "data/manifests/test.json").read_text())["entries"][0]
    source = pydicom.dcmread(root / "data/deid" / train["file"])
    target = pydicom.dcmread(root / "data/deid" / test["file"])
    pixels = source.pixel_array.astype(np.float64)
    noisy = pixels + np.random.default_rng(3).normal(0, 0.002 * 4095, pixels.shape)
    source.PixelData = np.clip(np.round(noisy), 0, 4095).astype(np.uint16).tobytes()
    source.WindowCenter, source.WindowWidth = 2100, 4300
    source.PatientID, source.StudyInstanceUID = target.PatientID, target.StudyInstanceUID
    source.SOPInstanceUID = source.file_meta.MediaStorageSOPInstanceUID = target.SOPInstanceUID
    source.save_as(root / "data/deid" / test["file"], enforce_file_format=True)
    m = create_manifest(root / "data/deid", root / "data/labels.csv", split="test", name="toy-test")
    (root / "data/manifests/test.json").write_text(m.dumps())
    return train["patient_id"], test["patient_id"]


def test_a_re_windowed_noised_copy_under_another_patient_fails_the_run_with_the_count(sqlite_store: Store,
                                                                                      tmp_path: Path) -> None:
    """A training image re-windowed, noised and filed under a test patient is found, and the run fails with the count."""
    path = make_project(tmp_path, 40)
    train_patient, test_patient = _smuggle_training_image(tmp_path)
    result = _lock_and_run(sqlite_store, path, tmp_path)
    ind = result["independence"]
    assert ind["overlap"] == {"patients": 0, "studies": 0, "files": 0}  # the id joins miss it
    nd = ind["near_duplicates"]
    assert nd["count"] == 1 and nd["test_cases"] == 1 and nd["exact"] == 0 and not nd["ok"]
    pair = nd["pairs"][0]
    assert (pair["test_patient"], pair["training_patient"]) == (test_patient, train_patient) and 0 < pair["distance"] <= 10
    assert set(pair) == {"test_sha256", "test_patient", "training_sha256", "training_patient", "distance", "exact"}
    assert result["verdict"] == "fail"
    assert any("1 test images have 1 near-duplicates" in r for r in result["reasons"])


def test_report_action_records_the_pairs_without_failing(sqlite_store: Store, tmp_path: Path) -> None:
    """With `action: report` the pairs are recorded and the independence check does not fail the run on them."""
    protocol = PROTOCOL + "independence:\n  near_duplicates: {max_distance: 10, action: report}\n"
    path = make_project(tmp_path, 40, protocol=protocol)
    _smuggle_training_image(tmp_path)
    result = _lock_and_run(sqlite_store, path, tmp_path)
    nd = result["independence"]["near_duplicates"]
    assert nd["count"] == 1 and nd["ok"] and nd["action"] == "report"
    assert not any(r.startswith("independence") for r in result["reasons"])


def test_distinct_images_are_not_near_duplicates(sqlite_store: Store, tmp_path: Path) -> None:
    """Distinct synthetic images are far apart: the run records zero pairs over every image."""
    path = make_project(tmp_path, 40)
    nd = _lock_and_run(sqlite_store, path, tmp_path)["independence"]["near_duplicates"]
    assert nd["count"] == 0 and nd["test_images"] == 20 and nd["training_images"] == 20 and nd["ok"]


def test_training_images_that_cannot_be_hashed_fail_closed(sqlite_store: Store, tmp_path: Path) -> None:
    """A training image missing from its folder leaves the check incomplete, which fails the run."""
    path = make_project(tmp_path, 40)
    train = json.loads((tmp_path / "data/manifests/train.json").read_text())["entries"][0]
    (tmp_path / "data/deid" / train["file"]).unlink()
    clear_cache()  # hashes are cached by content; this one must be read from its (now missing) file
    result = _lock_and_run(sqlite_store, path, tmp_path)
    nd = result["independence"]["near_duplicates"]
    assert nd["unreadable_training"] == [{"sha256": train["sha256"], "reason": "missing"}]
    assert result["verdict"] == "fail" and any("could not be hashed" in r for r in result["reasons"])


def test_hash_ignores_a_window_change_and_separates_other_images() -> None:
    """The hash reads the image's shape, not its window: a linear rescale keeps every bit; another image differs a lot."""
    rng = np.random.default_rng(0)
    a, b = rng.random((64, 64)), rng.random((64, 64))
    assert distances(np.frombuffer(dhash(a), np.uint8)[None], np.frombuffer(dhash(0.5 * a + 0.2), np.uint8)[None])[0, 0] == 0
    assert distances(np.frombuffer(dhash(a), np.uint8)[None], np.frombuffer(dhash(b), np.uint8)[None])[0, 0] > 80


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 7), st.integers(1, 9), st.integers(0, 2**32 - 1))
def test_distances_are_the_hamming_distances(n: int, m: int, seed: int) -> None:
    """The blocked popcount equals a bit-by-bit count for any pair of hash sets."""
    rng = np.random.default_rng(seed)
    a, b = rng.integers(0, 256, (n, 32), dtype=np.uint8), rng.integers(0, 256, (m, 32), dtype=np.uint8)
    expected = (np.unpackbits(a, axis=1)[:, None, :] != np.unpackbits(b, axis=1)[None, :, :]).sum(axis=2)
    assert np.array_equal(distances(a, b), expected)


@pytest.mark.parametrize(("block", "message"), [
    ("independence:\n  near_duplicates: {max_distance: 500}\n", "max_distance = 500 is out of range"),
    ("independence:\n  near_duplicates: {action: ignore}\n", "unknown value 'ignore'"),
    ("independence:\n  patients: true\n", "unknown key 'patients'"),
])
def test_bad_near_duplicate_options_name_the_line(tmp_path: Path, block: str, message: str) -> None:
    """A bad near-duplicate option is refused with file:line."""
    path = tmp_path / "p.yaml"
    path.write_text(PROTOCOL + block)
    with pytest.raises(QmsError) as info:
        read_protocol(path)
    line = len(PROTOCOL.splitlines()) + 2
    assert message in info.value.message and info.value.where == f"{path}:{line}"
