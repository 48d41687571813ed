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
from io import BytesIO
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pydicom
from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError
from pydicom.tag import BaseTag
from pydicom.pixels.processing import apply_modality_lut

from qms.models.errors import InputError
from qms.models.display import MONOCHROME, decode, read_dataset

__all__ = ["Volume", "load_series", "order_along_normal", "slice_normal"]

_ORIENTATION_TOLERANCE = 1e-4
# Elements by tag: pydicom looks a keyword up in its dictionary on every access (about 7 us, a tenth of a slice's cost)
_TAGS = {keyword: BaseTag(tag) for keyword, tag in (
    ("ImageOrientationPatient", 0x00200037), ("ImagePositionPatient", 0x00200032), ("PixelSpacing", 0x00280030),
    ("RescaleSlope", 0x00281053), ("RescaleIntercept", 0x00281052), ("ModalityLUTSequence", 0x00283000),
    ("PhotometricInterpretation", 0x00280004), ("Modality", 0x00080060))}


@dataclass(frozen=True)
class Volume:
    """Voxels (slices, rows, columns) in modality units, and where they are in the patient."""

    voxels: npt.NDArray[np.float32]
    positions: npt.NDArray[np.float64]
    normal: npt.NDArray[np.float64]
    spacing: tuple[float, float, float]
    files: tuple[str, ...]
    modality: str = ""


def _numbers(ds: Dataset, keyword: str) -> list[float] | None:
    """A decimal string element's values, None when absent or empty.

    Read from the element's raw bytes while pydicom has not converted it: its DS
    conversion costs more than the rest of a slice's header. float() of each value is what
    pydicom's conversion gives; anything float() refuses goes through pydicom instead.
    """
    element = ds.get_item(_TAGS[keyword])
    if element is None:
        return None
    if isinstance(element, RawDataElement) and element.VR == "DS":
        raw = element.value
        if not raw:
            return None
        try:
            return [float(v) for v in raw.decode("ascii").split("\\")]
        except (UnicodeDecodeError, ValueError):
            pass
    value = ds.get(keyword)
    if value is None or value == "":
        return None
    return [float(v) for v in value] if isinstance(value, Sequence) and not isinstance(value, str) else [float(value)]


def _vector(ds: Dataset, keyword: str, tag: str, size: int, where: str) -> list[float]:
    value = _numbers(ds, keyword)
    if value is None or len(value) != size:
        raise InputError(f"{keyword} is missing or does not have {size} values", where=f"{where} {tag}",
                         hint="a volume is built from positions and orientations, not from file order")
    return value


def _factor(ds: Dataset, keyword: str, default: float) -> float:
    """Rescale Slope or Intercept; absent, empty or zero gives the default (as `float(ds.get(k, d) or d)` did)."""
    value = _numbers(ds, keyword)
    if value is None:
        return default
    if len(value) != 1:
        return float(ds.get(keyword, default) or default)  # several values: the TypeError it always raised
    return value[0] or default


def _text(ds: Dataset, keyword: str) -> str:
    """A code string's value stripped, "" when absent (as `str(ds.get(keyword, "")).strip()`)."""
    tag = _TAGS[keyword]
    return str(ds[tag].value if tag in ds else "").strip()


def _modality_values(ds: Dataset, stored: npt.NDArray[np.generic], out: npt.NDArray[np.float32]) -> None:
    """Modality LUT (PS3.3 §C.11.1) into `out`: the LUT sequence through pydicom, a linear rescale in float32 directly."""
    if _TAGS["ModalityLUTSequence"] in ds:
        out[...] = apply_modality_lut(stored, ds).astype(np.float32)
        return
    slope, intercept = _factor(ds, "RescaleSlope", 1), _factor(ds, "RescaleIntercept", 0)
    out[...] = stored  # the float32 conversion, in place
    if slope != 1 or intercept != 0:
        out *= np.float32(slope)  # in place: the same float32 products and sums as values * slope + intercept
        out += np.float32(intercept)


def _read(path: Path, content: bytes | None) -> Dataset:
    """The file's dataset, parsed from `content` (its bytes, already read and hashed) when given."""
    if content is None:
        return read_dataset(path)
    try:
        return pydicom.dcmread(BytesIO(content))
    except InvalidDicomError as exc:
        raise InputError(f"not a DICOM file: {exc}", where=str(path)) from exc
    except (ValueError, EOFError) as exc:
        raise InputError(f"the DICOM file is truncated or malformed: {exc}", where=str(path)) from exc


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


def load_series(files: Sequence[Path], contents: Sequence[bytes] | None = None) -> Volume:
    """Read, check and stack a series into a volume sorted along its slice normal.

    `contents`, when given, are the files' bytes already read (and checked against a study
    index): each file is then parsed from memory, never read again.
    """
    if len(files) < 2:
        raise InputError(f"a volume needs at least two slices, got {len(files)}")
    positions = np.empty((len(files), 3), dtype=np.float64)
    voxels: npt.NDArray[np.float32] | None = None  # slices in file order, allocated once the matrix is known
    orientation0: list[float] = []
    spacing0: tuple[float, float] = (1.0, 1.0)
    modality = ""
    for k, path in enumerate(files):
        where = str(path)
        ds = _read(path, None if contents is None else contents[k])
        orientation = _vector(ds, "ImageOrientationPatient", "(0020,0037)", 6, where)
        positions[k] = _vector(ds, "ImagePositionPatient", "(0020,0032)", 3, where)
        if _text(ds, "PhotometricInterpretation") not in MONOCHROME:
            raise InputError("a volume slice must be MONOCHROME1 or MONOCHROME2", where=f"{where} (0028,0004)")
        stored = decode(ds, where)
        if voxels is None:
            voxels = np.empty((len(files), *stored.shape), dtype=np.float32)
        fits = stored.shape == voxels.shape[1:]
        _modality_values(ds, stored, voxels[k] if fits else np.empty(stored.shape, dtype=np.float32))
        if k == 0:
            orientation0 = orientation
            modality = _text(ds, "Modality")
            if _TAGS["PixelSpacing"] in ds:
                spacing = _numbers(ds, "PixelSpacing")
                spacing0 = ((spacing[0], spacing[1]) if spacing is not None and len(spacing) >= 2
                            else (float(ds.PixelSpacing[0]), float(ds.PixelSpacing[1])))  # its error, as before
        elif max(abs(a - b) for a, b in zip(orientation, orientation0, strict=True)) > _ORIENTATION_TOLERANCE:
            raise InputError(f"the slice's orientation {orientation} differs from the series' "
                             f"{orientation0}", where=f"{where} (0020,0037)", hint="one volume is one orientation")
        elif not fits:
            raise InputError(f"the slice is {stored.shape}, the series {voxels.shape[1:]}", where=f"{where} (0028,0010)")
    assert voxels is not None
    normal = slice_normal(np.array(orientation0, dtype=np.float64))
    order = order_along_normal(positions, normal)
    distances = (positions @ normal)[order]
    gaps = np.diff(distances)
    if np.any(gaps < 1e-3):
        i = int(np.argmin(gaps))
        raise InputError("two slices are at the same position along the normal",
                         where=f"{files[order[i + 1]]} (0020,0032)", hint="is a slice duplicated, or two series mixed?")
    in_order = bool(np.all(order[1:] > order[:-1]))  # files listed along the normal already: no copy
    return Volume(voxels=voxels if in_order else voxels[order], positions=positions[order], normal=normal,
                  spacing=(float(np.median(gaps)), *spacing0), files=tuple(str(files[i]) for i in order),
                  modality=modality)
