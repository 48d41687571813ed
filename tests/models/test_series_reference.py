"""The series loader equals a straightforward reference loader, value for value, whatever the files hold."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from qms.models.card import ModelCard
from qms.models.study import read_index, resample, study_tensor
from qms.models.volume import Volume, load_series, slice_normal
from tests.models.helpers import dicom, write
from tests.models.kinds import SEQUENCES, study, study_card

pytestmark = pytest.mark.verifies("QMS-REQ-217")

ORIENTATIONS = [[0.8660254, 0.5, 0.0, 0.0, 0.0, -1.0], [1.0, 0.0, 0.0, 0.0, 1.0, 0.0],
                [0.0, 1.0, 0.0, 0.0, 0.0, -1.0], [0.7071068, 0.0, 0.7071068, 0.0, 1.0, 0.0]]


def reference_volume(files: list[Path]) -> Volume:
    """The loader written plainly: pydicom's values, pixel_array, a float32 rescale, np.stack along the normal."""
    read = [pydicom.dcmread(f) for f in files]
    normal = slice_normal(np.array([float(v) for v in read[0].ImageOrientationPatient]))
    positions = np.array([[float(v) for v in ds.ImagePositionPatient] for ds in read])
    order = np.argsort(positions @ normal, kind="stable")
    slices = []
    for ds in read:
        slope = float(ds.get("RescaleSlope", 1) or 1)
        intercept = float(ds.get("RescaleIntercept", 0) or 0)
        values = ds.pixel_array.astype(np.float32)
        slices.append(values * np.float32(slope) + np.float32(intercept) if slope != 1 or intercept != 0 else values)
    spacing = (float(read[0].PixelSpacing[0]), float(read[0].PixelSpacing[1])) if "PixelSpacing" in read[0] else (1.0, 1.0)
    distances = (positions @ normal)[order]
    return Volume(voxels=np.stack([slices[i] for i in order]), positions=positions[order], normal=normal,
                  spacing=(float(np.median(np.diff(distances))), *spacing), files=tuple(str(files[i]) for i in order),
                  modality=str(read[0].get("Modality", "")).strip())


def _assert_same(got: Volume, want: Volume) -> None:
    assert got.voxels.dtype == want.voxels.dtype == np.float32
    assert np.array_equal(got.voxels, want.voxels)
    assert np.array_equal(got.positions, want.positions) and np.array_equal(got.normal, want.normal)
    assert (got.spacing, got.files, got.modality) == (want.spacing, want.files, want.modality)


@settings(max_examples=25, deadline=None)
@given(orientation=st.sampled_from(ORIENTATIONS), count=st.integers(2, 7), data=st.data(),
       signed=st.booleans(), rescale=st.sampled_from([None, (1, 0), (0, -5), (2.5, -1024.25), (0.001, 3)]),
       spacing=st.sampled_from([None, [0.7, 0.8], [1.25, 1.25]]), from_bytes=st.booleans())
def test_the_loader_equals_the_reference(orientation: list[float], count: int, data: st.DataObject, signed: bool,
                                         rescale: tuple[float, float] | None, spacing: list[float] | None,
                                         from_bytes: bool) -> None:
    """Any file order, orientation, pixel sign, rescale and spacing give the reference loader's volume exactly."""
    rng = np.random.default_rng(count)
    normal = slice_normal(np.array(orientation))
    steps = data.draw(st.lists(st.floats(-50, 50).map(lambda v: round(v, 2)), min_size=count, max_size=count,
                               unique_by=lambda v: round(v, 1)))
    with tempfile.TemporaryDirectory() as tmp:
        files = []
        for k, step in enumerate(steps):
            pixels = rng.integers(-2000 if signed else 0, 4000, (5, 4)).astype(np.int16 if signed else np.uint16)
            attributes: dict[str, Any] = {"ImageOrientationPatient": orientation,
                                          "ImagePositionPatient": (np.array([3.0, -7.5, 11.0]) + step * normal).tolist()}
            if rescale is not None:
                attributes.update(RescaleSlope=rescale[0], RescaleIntercept=rescale[1])
            if spacing is not None:
                attributes["PixelSpacing"] = spacing
            files.append(write(dicom(pixels, modality="CT", bits=16, **attributes), Path(tmp) / f"{k:02d}.dcm"))
        listed = data.draw(st.permutations(files))
        contents = [f.read_bytes() for f in listed] if from_bytes else None
        _assert_same(load_series(listed, contents), reference_volume(listed))


@pytest.mark.parametrize("shuffle", [None, 3])
def test_study_tensor_equals_the_reference_pipeline(tmp_path: Path, shuffle: int | None) -> None:
    """The study tensor equals the reference volumes resampled, stacked and normalised in the plain way."""
    card = ModelCard.model_validate(study_card(study={"sequences": list(SEQUENCES), "shape": [10, 9, 7],
                                                      "spacing": [2.0, 1.2, 1.7]}))
    assert card.study is not None
    index = study(tmp_path / "s", seed=5, slices=8, matrix=(14, 11), shuffle=shuffle)
    series = read_index(index, card.study.sequences)
    channels = [resample(reference_volume(series[name]), card.study) for name in card.study.sequences]
    mean = np.asarray(card.input.mean, dtype=np.float32).reshape(-1, 1, 1, 1)
    std = np.asarray(card.input.std, dtype=np.float32).reshape(-1, 1, 1, 1)
    assert torch.equal(study_tensor(index, card.study, card.input), torch.from_numpy((np.stack(channels) - mean) / std))


def _plain_resample_axis(x: np.ndarray, axis: int, size: int) -> np.ndarray:
    have = x.shape[axis]
    if have == size:
        return x
    src = np.maximum((np.arange(size, dtype=np.float64) + 0.5) * (have / size) - 0.5, 0.0)
    low = np.minimum(src.astype(np.intp), have - 1)
    high = np.minimum(low + 1, have - 1)
    shape = [1] * x.ndim
    shape[axis] = size
    weight = (src - low).astype(np.float32).reshape(shape)
    lower = np.take(x, low, axis=axis)
    return lower + (np.take(x, high, axis=axis) - lower) * weight


@settings(max_examples=40, deadline=None)
@given(shape=st.tuples(st.integers(1, 9), st.integers(1, 9), st.integers(1, 9)), axis=st.integers(0, 2),
       size=st.integers(1, 14), seed=st.integers(0, 2**16))
def test_resampling_an_axis_equals_the_plain_formula_bit_for_bit(shape: tuple[int, int, int], axis: int, size: int,
                                                                 seed: int) -> None:
    """The in-place linear pass gives lower + (higher - lower) * weight in float32, bit for bit."""
    from qms.models.study import resample_axis

    x = (np.random.default_rng(seed).normal(size=shape) * 1000).astype(np.float32)
    assert np.array_equal(resample_axis(x, axis, size), _plain_resample_axis(x, axis, size))
