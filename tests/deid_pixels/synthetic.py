"""Synthetic images for the pixel-cleaning tests: datasets built from arrays, no real data.

Every dataset here is generated in memory; the only files used are pydicom's own test
files (pydicom.data), which carry no real PHI (see pydicom's data README).
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import numpy as np
import pydicom
from numpy.typing import NDArray
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.pixels.decoders.base import get_decoder
from pydicom.uid import UID, ExplicitVRBigEndian, ExplicitVRLittleEndian, generate_uid

from qms.deid.pixels import MaskedRegion, Rectangle
from qms.deid.pixels.layout import transfer_syntax_of

SYNTHETIC_SOP_CLASS = "1.2.840.10008.5.1.4.1.1.1.1"  # Digital X-Ray Image Storage - For Presentation


def header(rows: int, columns: int, **attributes: object) -> Dataset:
    """A minimal image header; keyword arguments set or override attributes."""
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = UID(SYNTHETIC_SOP_CLASS)
    ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    ds.SOPClassUID = SYNTHETIC_SOP_CLASS
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID
    ds.Modality = "DX"
    ds.Manufacturer = "SYNTHETIC"
    ds.Rows, ds.Columns = rows, columns
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 0
    for keyword, value in attributes.items():
        setattr(ds, keyword, value)
    return ds


def native(
    arr: NDArray[np.generic],
    *,
    photometric: str = "MONOCHROME2",
    bits_stored: int | None = None,
    planar: int = 0,
    big_endian: bool = False,
    **attributes: object,
) -> Dataset:
    """A native dataset whose Pixel Data encodes `arr` shaped (frames, rows, columns[, samples])."""
    frames, rows, columns = arr.shape[:3]
    samples = arr.shape[3] if arr.ndim == 4 else 1
    ds = header(rows, columns, **attributes)
    ds.PhotometricInterpretation = photometric
    ds.SamplesPerPixel = samples
    bits = arr.dtype.itemsize * 8
    ds.BitsAllocated, ds.BitsStored = bits, bits_stored or bits
    ds.HighBit = ds.BitsStored - 1
    ds.PixelRepresentation = 1 if arr.dtype.kind == "i" else 0
    if frames > 1:
        ds.NumberOfFrames = frames
    if samples > 1:
        ds.PlanarConfiguration = planar
    data = arr if planar == 0 or samples == 1 else np.moveaxis(arr, 3, 1)
    order: Literal["<", ">"] = ">" if big_endian else "<"
    payload = np.ascontiguousarray(data).astype(data.dtype.newbyteorder(order)).tobytes()
    ds.PixelData = payload + (b"\x00" if len(payload) % 2 else b"")
    ds["PixelData"].VR = "OB" if bits == 8 else "OW"
    if big_endian:
        ds.file_meta.TransferSyntaxUID = ExplicitVRBigEndian
    return ds


def bits(arr: NDArray[np.uint8], **attributes: object) -> Dataset:
    """A BitsAllocated 1 dataset (frames packed back to back, LSB first) from a 0/1 array."""
    frames, rows, columns = arr.shape
    ds = header(rows, columns, **attributes)
    ds.BitsAllocated, ds.BitsStored, ds.HighBit = 1, 1, 0
    if frames > 1:
        ds.NumberOfFrames = frames
    packed = np.packbits(arr.reshape(-1), bitorder="little").tobytes()
    ds.PixelData = packed + (b"\x00" if len(packed) % 2 else b"")
    ds["PixelData"].VR = "OB"
    return ds


def shipped(name: str) -> Dataset:
    """One of pydicom's own test files (pydicom/data/test_files); skips when this pydicom lacks it."""
    import pytest
    from pydicom.data import get_testdata_file

    path = get_testdata_file(name)
    if path is None:
        pytest.skip(f"{name} is not shipped with this pydicom")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pydicom.dcmread(path)


def written(ds: Dataset) -> Dataset:
    """The dataset as a reader sees it after writing it with its transfer syntax."""
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pydicom.dcmread(io.BytesIO(buffer.getvalue()))


def pixels(ds: Dataset, *, raw: bool = False) -> NDArray[np.generic]:
    """Decoded pixels shaped (frames, rows, columns, samples)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        arr, meta = get_decoder(UID(transfer_syntax_of(ds))).as_array(ds, raw=raw)
    frames = int(meta.get("number_of_frames", 1))
    return arr.reshape(frames, int(meta["rows"]), int(meta["columns"]), int(meta["samples_per_pixel"]))


def region_mask(rows: int, columns: int, regions: Sequence[MaskedRegion | Rectangle]) -> NDArray[np.bool_]:
    """True inside any of the rectangles."""
    mask = np.zeros((rows, columns), dtype=bool)
    for item in regions:
        r = item.rectangle if isinstance(item, MaskedRegion) else item
        mask[r.y : r.y + r.height, r.x : r.x + r.width] = True
    return mask


def library_file(tmp_path: Path, text: str) -> Path:
    """Write a region-library script into the test's temporary folder."""
    path = tmp_path / "library.script"
    path.write_text(text, encoding="utf-8")
    return path
