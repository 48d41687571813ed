"""Synthetic DICOM files carrying synthetic PHI: for tests, benchmarks and demonstrations only.

Every identifying value is made up (seeded), and the files are small CT images that a
de-identifier must clean in the header, in nested sequences and in private elements. The
image itself comes from the one synthetic-DICOM builder, `qms.synthetic_dicom`.
"""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence
from pydicom.uid import CTImageStorage, generate_uid

from qms.synthetic_dicom import SyntheticPatient, SyntheticUids, synthetic_image

__all__ = ["synthetic_ct", "write_synthetic_tree"]

_GIVEN = ("Alda", "Berit", "Corwin", "Dagny", "Evander", "Fenna", "Gorm", "Hilde", "Ivo", "Jorunn")
_FAMILY = ("Quellmark", "Rasmundsen", "Sturluson", "Tovesdal", "Ulvaeus", "Vangsnes", "Wexholm", "Yrjola")
PRIVATE_CREATOR = "SYNTHETIC PHI 1.0"


def synthetic_ct(rng: random.Random, patient: int, study: int, instance: int, *, pixels: int = 16) -> Dataset:
    """One small CT image of synthetic patient `patient` with synthetic PHI throughout."""
    r = random.Random(f"{patient}")  # per-patient values stay the same across that patient's files
    name = f"{r.choice(_FAMILY)}^{r.choice(_GIVEN)}"
    who = SyntheticPatient(patient_id=f"MRN{r.randrange(10**6, 10**7)}", name=name,
                           birth_date=f"{r.randrange(1925, 2005)}{r.randrange(1, 13):02d}{r.randrange(1, 29):02d}",
                           sex=r.choice("MF"), age=f"{r.randrange(20, 99):03d}Y")
    address = f"{r.randrange(1, 999)} {r.choice(_FAMILY)} Road, Synthville"
    other_id = f"ALT{r.randrange(10**5, 10**6)}"
    date = f"2024{1 + study % 12:02d}{1 + rng.randrange(28):02d}"
    time = f"{rng.randrange(7, 19):02d}{rng.randrange(60):02d}00"
    accession = f"ACC{rng.randrange(10**7, 10**8)}"
    referring = f"{rng.choice(_FAMILY)}^{rng.choice(_GIVEN)}^^Dr"
    institution = f"{r.choice(_FAMILY)} Memorial Hospital"
    item = Dataset()
    item.ReferencedSOPClassUID = CTImageStorage
    item.ReferencedSOPInstanceUID = generate_uid(entropy_srcs=[f"{patient}-{study}-ref"])
    other = Dataset()
    other.PatientID = other_id
    other.IssuerOfPatientID = institution
    ds = synthetic_image(
        np.full((pixels, pixels), instance % 4096, dtype="<u2"), modality="CT", sop_class=CTImageStorage,
        uids=SyntheticUids(generate_uid(entropy_srcs=[f"{patient}-{study}-{instance}"]),
                           study=generate_uid(entropy_srcs=[f"{patient}-{study}"]),
                           series=generate_uid(entropy_srcs=[f"{patient}-{study}-series"])),
        patient=who,
        attributes={
            "FrameOfReferenceUID": generate_uid(entropy_srcs=[f"{patient}-{study}-for"]),
            "PatientAddress": address, "OtherPatientIDs": other_id,
            "StudyDate": date, "SeriesDate": date, "ContentDate": date, "StudyTime": time, "ContentTime": time,
            "AccessionNumber": accession, "StudyID": f"S{study}", "ReferringPhysicianName": referring,
            "InstitutionName": institution, "StationName": f"CT{r.randrange(100)}",
            "StudyDescription": f"CT CHEST for {name.split('^')[0]}",
            "Manufacturer": "SYNTHETIC", "ManufacturerModelName": "SIM-CT", "KVP": "120", "SliceThickness": "1.25",
            "PixelSpacing": [0.7, 0.7], "ImagePositionPatient": [0.0, 0.0, float(instance)],
            "ImageOrientationPatient": [1.0, 0.0, 0.0, 0.0, 1.0, 0.0], "InstanceNumber": instance, "SeriesNumber": 1,
            "ReferencedImageSequence": Sequence([item]), "OtherPatientIDsSequence": Sequence([other]),
            "BurnedInAnnotation": "NO",
        })
    block = ds.private_block(0x0011, PRIVATE_CREATOR, create=True)
    block.add_new(0x01, "LO", name)
    block.add_new(0x02, "LO", who.patient_id)
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
