"""Synthetic DICOM files carrying synthetic PHI: for tests, benchmarks and demonstrations only.

Every identifying value is made up (seeded), and the files are small CT images that a
de-identifier must clean in the header, in nested sequences and in private elements.
"""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, generate_uid

__all__ = ["synthetic_ct", "write_synthetic_tree"]

_GIVEN = ("Alda", "Berit", "Corwin", "Dagny", "Evander", "Fenna", "Gorm", "Hilde", "Ivo", "Jorunn")
_FAMILY = ("Quellmark", "Rasmundsen", "Sturluson", "Tovesdal", "Ulvaeus", "Vangsnes", "Wexholm", "Yrjola")
PRIVATE_CREATOR = "SYNTHETIC PHI 1.0"


def synthetic_ct(rng: random.Random, patient: int, study: int, instance: int, *, pixels: int = 16) -> Dataset:
    """One small CT image of synthetic patient `patient` with synthetic PHI throughout."""
    r = random.Random(f"{patient}")  # per-patient values stay the same across that patient's files
    name = f"{r.choice(_FAMILY)}^{r.choice(_GIVEN)}"
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = CTImageStorage
    ds.SOPClassUID = CTImageStorage
    ds.SOPInstanceUID = generate_uid(entropy_srcs=[f"{patient}-{study}-{instance}"])
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.StudyInstanceUID = generate_uid(entropy_srcs=[f"{patient}-{study}"])
    ds.SeriesInstanceUID = generate_uid(entropy_srcs=[f"{patient}-{study}-series"])
    ds.FrameOfReferenceUID = generate_uid(entropy_srcs=[f"{patient}-{study}-for"])
    ds.PatientName = name
    ds.PatientID = f"MRN{r.randrange(10**6, 10**7)}"
    ds.PatientBirthDate = f"{r.randrange(1925, 2005)}{r.randrange(1, 13):02d}{r.randrange(1, 29):02d}"
    ds.PatientSex = r.choice("MF")
    ds.PatientAge = f"{r.randrange(20, 99):03d}Y"
    ds.PatientAddress = f"{r.randrange(1, 999)} {r.choice(_FAMILY)} Road, Synthville"
    ds.OtherPatientIDs = f"ALT{r.randrange(10**5, 10**6)}"
    ds.StudyDate = f"2024{1 + study % 12:02d}{1 + rng.randrange(28):02d}"
    ds.SeriesDate = ds.StudyDate
    ds.ContentDate = ds.StudyDate
    ds.StudyTime = f"{rng.randrange(7, 19):02d}{rng.randrange(60):02d}00"
    ds.ContentTime = ds.StudyTime
    ds.AccessionNumber = f"ACC{rng.randrange(10**7, 10**8)}"
    ds.StudyID = f"S{study}"
    ds.ReferringPhysicianName = f"{rng.choice(_FAMILY)}^{rng.choice(_GIVEN)}^^Dr"
    ds.InstitutionName = f"{r.choice(_FAMILY)} Memorial Hospital"
    ds.StationName = f"CT{r.randrange(100)}"
    ds.StudyDescription = f"CT CHEST for {name.split('^')[0]}"
    ds.Modality = "CT"
    ds.Manufacturer = "SYNTHETIC"
    ds.ManufacturerModelName = "SIM-CT"
    ds.KVP = "120"
    ds.SliceThickness = "1.25"
    ds.PixelSpacing = [0.7, 0.7]
    ds.ImagePositionPatient = [0.0, 0.0, float(instance)]
    ds.ImageOrientationPatient = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0]
    ds.InstanceNumber = instance
    ds.SeriesNumber = 1
    item = Dataset()
    item.ReferencedSOPClassUID = CTImageStorage
    item.ReferencedSOPInstanceUID = generate_uid(entropy_srcs=[f"{patient}-{study}-ref"])
    ds.ReferencedImageSequence = Sequence([item])
    other = Dataset()
    other.PatientID = ds.OtherPatientIDs
    other.IssuerOfPatientID = ds.InstitutionName
    ds.OtherPatientIDsSequence = Sequence([other])
    block = ds.private_block(0x0011, PRIVATE_CREATOR, create=True)
    block.add_new(0x01, "LO", name)
    block.add_new(0x02, "LO", ds.PatientID)
    ds.Rows = ds.Columns = pixels
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated = ds.BitsStored = 16
    ds.HighBit = 15
    ds.PixelRepresentation = 0
    ds.BurnedInAnnotation = "NO"
    ds.PixelData = np.full((pixels, pixels), instance % 4096, dtype="<u2").tobytes()
    return ds


def write_synthetic_tree(root: Path, files: int, *, patients: int = 20, seed: int = 0) -> list[Path]:
    """`files` synthetic CT files under root/patient/study/, spread over `patients` patients."""
    rng = random.Random(seed)
    paths = []
    for i in range(files):
        patient, study = i % patients, (i // patients) % 3
        path = root / f"p{patient:04d}" / f"s{study}" / f"i{i:06d}.dcm"
        path.parent.mkdir(parents=True, exist_ok=True)
        synthetic_ct(rng, patient, study, i).save_as(path, enforce_file_format=True)
        paths.append(path)
    return paths
