"""A series of single-frame slices to a 3-D volume ordered along the slice normal (volume models, e.g. brain MRI).

PS3.3 §C.7.6.2.1.1: the slice normal is the cross product of the row and column
direction cosines of Image Orientation (Patient) (0020,0037); a slice's place along it is
the dot product of the normal with its Image Position (Patient) (0020,0032). Slices are
sorted by that, never by Instance Number or file name, and must share one orientation
and one matrix. Values are modality values (e.g. Hounsfield units), after the Modality LUT.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
from pydicom.dataset import Dataset
from pydicom.pixels.processing import apply_modality_lut

from qms.models.errors import InputError
from qms.models.display import MONOCHROME, decode, read_dataset

__all__ = ["Volume", "load_series", "order_along_normal", "slice_normal"]

_ORIENTATION_TOLERANCE = 1e-4


@dataclass(frozen=True)
class Volume:
    """Voxels (slices, rows, columns) in modality units, and where they are in the patient."""

    voxels: npt.NDArray[np.float32]
    positions: npt.NDArray[np.float64]
    normal: npt.NDArray[np.float64]
    spacing: tuple[float, float, float]
    files: tuple[str, ...]
    modality: str = ""


def _vector(ds: Dataset, keyword: str, tag: str, size: int, where: str) -> npt.NDArray[np.float64]:
    value = ds.get(keyword)
    if value is None or len(value) != size:
        raise InputError(f"{keyword} is missing or does not have {size} values", where=f"{where} {tag}",
                         hint="a volume is built from positions and orientations, not from file order")
    return np.array([float(v) for v in value], dtype=np.float64)


def _modality_values(ds: Dataset, stored: npt.NDArray[np.generic]) -> npt.NDArray[np.float32]:
    """Modality LUT (PS3.3 §C.11.1): the LUT sequence through pydicom, a linear rescale in float32 directly."""
    if "ModalityLUTSequence" in ds:
        return apply_modality_lut(stored, ds).astype(np.float32)
    slope, intercept = float(ds.get("RescaleSlope", 1) or 1), float(ds.get("RescaleIntercept", 0) or 0)
    values = stored.astype(np.float32)
    if slope != 1 or intercept != 0:
        values = values * np.float32(slope) + np.float32(intercept)
    return values


def slice_normal(orientation: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Unit normal of a slice: row cosines x column cosines (PS3.3 §C.7.6.2.1.1)."""
    normal = np.cross(orientation[:3], orientation[3:])
    length = float(np.linalg.norm(normal))
    if length < 1e-6:
        raise InputError(f"Image Orientation (Patient) {orientation.tolist()} has parallel row and column directions",
                         where="(0020,0037)")
    return normal / length


def order_along_normal(positions: npt.NDArray[np.float64], normal: npt.NDArray[np.float64]) -> npt.NDArray[np.intp]:
    """Indices that sort slices by their distance along the normal (stable for equal distances)."""
    return np.argsort(positions @ normal, kind="stable")


def load_series(files: Sequence[Path]) -> Volume:
    """Read, check and stack a series into a volume sorted along its slice normal."""
    if len(files) < 2:
        raise InputError(f"a volume needs at least two slices, got {len(files)}")
    slices: list[tuple[npt.NDArray[np.float64], npt.NDArray[np.float32], str]] = []
    orientation0: npt.NDArray[np.float64] | None = None
    shape0: tuple[int, ...] | None = None
    spacing0: tuple[float, float] = (1.0, 1.0)
    modality = ""
    for path in files:
        where = str(path)
        ds = read_dataset(path)
        orientation = _vector(ds, "ImageOrientationPatient", "(0020,0037)", 6, where)
        position = _vector(ds, "ImagePositionPatient", "(0020,0032)", 3, where)
        if str(ds.get("PhotometricInterpretation", "")).strip() not in MONOCHROME:
            raise InputError("a volume slice must be MONOCHROME1 or MONOCHROME2", where=f"{where} (0028,0004)")
        pixels = _modality_values(ds, decode(ds, where))
        if orientation0 is None:
            orientation0, shape0 = orientation, pixels.shape
            modality = str(ds.get("Modality", "")).strip()
            if "PixelSpacing" in ds:
                spacing0 = (float(ds.PixelSpacing[0]), float(ds.PixelSpacing[1]))
        elif float(np.abs(orientation - orientation0).max()) > _ORIENTATION_TOLERANCE:  # np.allclose costs 0.3 ms a slice
            raise InputError(f"the slice's orientation {orientation.tolist()} differs from the series' "
                             f"{orientation0.tolist()}", where=f"{where} (0020,0037)", hint="one volume is one orientation")
        elif pixels.shape != shape0:
            raise InputError(f"the slice is {pixels.shape}, the series {shape0}", where=f"{where} (0028,0010)")
        slices.append((position, pixels, where))
    assert orientation0 is not None
    normal = slice_normal(orientation0)
    positions = np.stack([p for p, _, _ in slices])
    order = order_along_normal(positions, normal)
    distances = (positions @ normal)[order]
    gaps = np.diff(distances)
    if np.any(gaps < 1e-3):
        i = int(np.argmin(gaps))
        raise InputError("two slices are at the same position along the normal",
                         where=f"{slices[order[i + 1]][2]} (0020,0032)", hint="is a slice duplicated, or two series mixed?")
    return Volume(voxels=np.stack([slices[i][1] for i in order]), positions=positions[order], normal=normal,
                  spacing=(float(np.median(gaps)), *spacing0), files=tuple(slices[i][2] for i in order),
                  modality=modality)
