"""A series becomes a volume ordered along the slice normal, whatever order its files come in."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qms.models.errors import InputError
from qms.models.volume import load_series, order_along_normal, slice_normal
from tests.models.helpers import dicom, write

OBLIQUE = [0.8660254, 0.5, 0.0, 0.0, 0.0, -1.0]  # rows rotated 30 degrees in the axial plane, columns foot-ward


def _series(root: Path, count: int, orientation: list[float] = OBLIQUE) -> list[Path]:
    normal = slice_normal(np.array(orientation))
    paths = []
    for k in range(count):
        position = (np.array([10.0, -20.0, 5.0]) + 2.5 * k * normal).tolist()
        pixels = np.full((6, 5), 100 * k, np.int16)
        ds = dicom(pixels, modality="CT", bits=16, ImageOrientationPatient=orientation, ImagePositionPatient=position,
                   PixelSpacing=[0.7, 0.8], RescaleSlope=1, RescaleIntercept=-1000,
                   InstanceNumber=count - k)  # instance numbers run backwards: they must not decide the order
        paths.append(write(ds, root / f"slice-{k:02d}.dcm"))
    return paths


@pytest.fixture(scope="module")
def series(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    return _series(tmp_path_factory.mktemp("series"), 6)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.permutations(list(range(6))))
def test_volume_order_is_invariant_under_shuffling(series: list[Path], order: list[int]) -> None:
    """Shuffled files give the same volume: slices sorted by position along the normal, rescale applied."""
    volume = load_series([series[i] for i in order])
    assert [float(v) for v in volume.voxels[:, 0, 0]] == [100.0 * k - 1000 for k in range(6)]
    assert volume.spacing == pytest.approx((2.5, 0.7, 0.8))
    assert volume.files == tuple(str(p) for p in series)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(-500, 500), min_size=2, max_size=20, unique=True), st.randoms())
def test_ordering_depends_only_on_distance_along_the_normal(distances: list[float], shuffle: object) -> None:
    """For any positions on a line along the normal, the order is by distance, however they are listed."""
    normal = slice_normal(np.array(OBLIQUE))
    positions = np.array([d * normal for d in distances])
    order = order_along_normal(positions, normal)
    assert [distances[i] for i in order] == sorted(distances)


def test_mixed_orientations_and_duplicate_positions_are_refused(tmp_path: Path, series: list[Path]) -> None:
    """A slice of another orientation, or two slices at one position, are refused, naming the file and tag."""
    other = _series(tmp_path / "axial", 2, [1.0, 0.0, 0.0, 0.0, 1.0, 0.0])
    with pytest.raises(InputError, match="orientation") as err:
        load_series([*series[:2], other[1]])
    assert err.value.where == f"{other[1]} (0020,0037)"
    with pytest.raises(InputError, match="same position"):
        load_series([series[0], series[1], series[1]])
