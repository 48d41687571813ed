"""Synthetic DICOM images built from arrays: one builder for the tests, benchmarks and examples.

Every value here is made up by the caller or generated; nothing is read from real data. The
builder writes a file meta, the SOP identity, optional patient fields, the image pixel module
from the array (native encoding, or compressed with pydicom's encoders), then the caller's
extra attributes, which override anything set before them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import UID, ExplicitVRBigEndian, ExplicitVRLittleEndian, ImplicitVRLittleEndian, generate_uid

__all__ = ["DIGITAL_XRAY_PRESENTATION", "SyntheticPatient", "SyntheticUids", "synthetic_image", "synthetic_meta"]

DIGITAL_XRAY_PRESENTATION = "1.2.840.10008.5.1.4.1.1.1.1"  # Digital X-Ray Image Storage - For Presentation
_NATIVE = frozenset({ExplicitVRLittleEndian, ImplicitVRLittleEndian, ExplicitVRBigEndian})


@dataclass(frozen=True)
class SyntheticUids:
    """The instance's UIDs; a study or series UID of None is left out of the dataset."""

    sop_instance: str
    study: str | None = None
    series: str | None = None

    @classmethod
    def seeded(cls, *parts: object, prefix: str | None = None) -> SyntheticUids:
        """UIDs derived from `parts` (a seed and the object's place): the same parts give the same UIDs."""
        sources = [str(p) for p in parts]
        return cls(*(generate_uid(prefix, entropy_srcs=[*sources, role]) for role in ("sop", "study", "series")))


@dataclass(frozen=True)
class SyntheticPatient:
    """Patient Module values (all synthetic); a field of None is left out of the dataset."""

    patient_id: str
    name: str | None = None
    birth_date: str | None = None
    sex: str | None = None
    age: str | None = None

    def apply(self, ds: Dataset) -> None:
        ds.PatientID = self.patient_id
        for keyword, value in (("PatientName", self.name), ("PatientBirthDate", self.birth_date),
                               ("PatientSex", self.sex), ("PatientAge", self.age)):
            if value is not None:
                setattr(ds, keyword, value)


def synthetic_meta(sop_class: str, sop_instance: str, transfer_syntax: str = ExplicitVRLittleEndian) -> FileMetaDataset:
    """A minimal file meta for a dataset of that SOP Class and Instance."""
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = UID(sop_class)
    meta.MediaStorageSOPInstanceUID = UID(sop_instance)
    meta.TransferSyntaxUID = UID(transfer_syntax)
    return meta


def synthetic_image(
    pixels: NDArray[Any],
    *,
    modality: str = "DX",
    sop_class: str = DIGITAL_XRAY_PRESENTATION,
    photometric: str = "MONOCHROME2",
    bits_stored: int | None = None,
    planar: int = 0,
    multiframe: bool = False,
    transfer_syntax: str = ExplicitVRLittleEndian,
    uids: SyntheticUids | None = None,
    patient: SyntheticPatient | None = None,
    attributes: Mapping[str, object] | None = None,
) -> Dataset:
    """An image whose Pixel Data holds `pixels` as stored values.

    `pixels` is (rows, columns[, samples]), or with `multiframe` (frames, rows, columns[, samples]);
    its dtype gives BitsAllocated and PixelRepresentation (bool: BitsAllocated 1, packed). A
    compressed `transfer_syntax` is encoded by pydicom after the attributes are set.
    """
    arr = pixels if multiframe else pixels[np.newaxis]
    ids = uids or SyntheticUids(generate_uid())
    ds = Dataset()
    ds.file_meta = synthetic_meta(sop_class, ids.sop_instance)
    ds.SOPClassUID, ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPClassUID, ds.file_meta.MediaStorageSOPInstanceUID
    if ids.study is not None:
        ds.StudyInstanceUID = ids.study
    if ids.series is not None:
        ds.SeriesInstanceUID = ids.series
    if patient is not None:
        patient.apply(ds)
    ds.Modality = modality
    _pixel_module(ds, arr, photometric, bits_stored, planar, big_endian=transfer_syntax == ExplicitVRBigEndian)
    if transfer_syntax != ExplicitVRLittleEndian and transfer_syntax in _NATIVE:
        ds.file_meta.TransferSyntaxUID = UID(transfer_syntax)
    for keyword, value in (attributes or {}).items():
        setattr(ds, keyword, value)
    if transfer_syntax not in _NATIVE:
        ds.compress(UID(transfer_syntax), generate_instance_uid=False)
    return ds


def _pixel_module(ds: Dataset, arr: NDArray[Any], photometric: str, bits_stored: int | None, planar: int, *,
                  big_endian: bool) -> None:
    """Image Pixel Module attributes and native Pixel Data for `arr` shaped (frames, rows, columns[, samples])."""
    frames, rows, columns = arr.shape[:3]
    samples = arr.shape[3] if arr.ndim == 4 else 1
    ds.Rows, ds.Columns = rows, columns
    ds.SamplesPerPixel = samples
    ds.PhotometricInterpretation = photometric
    if frames > 1:
        ds.NumberOfFrames = frames
    if samples > 1:
        ds.PlanarConfiguration = planar
    if arr.dtype == np.bool_:
        ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 1, 1, 0, 0
        payload = np.packbits(arr.reshape(-1), bitorder="little").tobytes()
    else:
        bits = arr.dtype.itemsize * 8
        ds.BitsAllocated, ds.BitsStored = bits, bits_stored or bits
        ds.HighBit = ds.BitsStored - 1
        ds.PixelRepresentation = 1 if arr.dtype.kind == "i" else 0
        data = arr if planar == 0 or samples == 1 else np.moveaxis(arr, 3, 1)
        order: Literal["<", ">"] = ">" if big_endian else "<"
        payload = np.ascontiguousarray(data).astype(data.dtype.newbyteorder(order)).tobytes()
    ds.PixelData = payload + (b"\x00" if len(payload) % 2 else b"")
    ds["PixelData"].VR = "OB" if ds.BitsAllocated <= 8 else "OW"
