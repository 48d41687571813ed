"""Synthetic multi-sequence brain MRI studies with seeded synthetic PHI, and labels.csv keyed by study.

Each patient has one study of three series (T1, T2, FLAIR), each a stack of slices in an
oblique orientation drawn per study, with files named in a random order unrelated to their
position (the loader must order them along the slice normal). Each finding brightens its own
region in its own sequence. Nothing here is real: names, ids and dates come from a seeded
generator. labels.csv keys each study by the path of its study index (written after
de-identification, `index.py`), with the split, the labels and the site.

    python generate.py --out data/raw --patients 40 --seed 20261206
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import numpy as np
from pydicom.uid import generate_uid

from qms.synthetic_dicom import SyntheticPatient, SyntheticUids, synthetic_image

SEQUENCES = ("T1", "T2", "FLAIR")
LABELS = ("mass", "haemorrhage", "infarct", "atrophy")
MR_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.4"
# (sequence, slab of slices, row block, column block) that each finding brightens
REGIONS = {"mass": (0, slice(2, 5), slice(4, 12), slice(4, 12)), "haemorrhage": (1, slice(3, 6), slice(10, 18), slice(8, 16)),
           "infarct": (2, slice(1, 4), slice(12, 20), slice(2, 10)), "atrophy": (0, slice(0, 8), slice(0, 4), slice(0, 24))}
NAMES = ("Rowan Hale", "Ines Marlow", "Theo Brandt", "Mira Solberg", "Jonas Peake", "Ada Lindqvist")


def _orientation(rng: np.random.Generator) -> list[float]:
    """Row and column direction cosines rotated by a random angle about the patient's z axis (oblique axial)."""
    a = float(rng.uniform(-0.5, 0.5))
    return [round(np.cos(a), 6), round(np.sin(a), 6), 0.0, round(-np.sin(a), 6), round(np.cos(a), 6), 0.0]


def make_study(out: Path, index: int, rng: np.random.Generator, slices: int, matrix: int) -> dict[str, object]:
    labels = {name: int(rng.random() < 0.4) for name in LABELS}
    patient_id = f"MRN{100000 + index}"
    patient = SyntheticPatient(patient_id, name=str(rng.choice(NAMES)).replace(" ", "^"),
                               birth_date=f"19{rng.integers(40, 99)}0{rng.integers(1, 9)}1{rng.integers(0, 9)}",
                               sex=str(rng.choice(["F", "M"])), age=f"0{rng.integers(20, 89)}Y")
    study_uid = generate_uid()
    orientation = _orientation(rng)
    row, col = np.array(orientation[:3]), np.array(orientation[3:])
    normal = np.cross(row, col)
    manufacturer = str(rng.choice(["Synthetic MR A", "Synthetic MR B"]))
    folder = Path(f"study-{index:04d}")
    for s, sequence in enumerate(SEQUENCES):
        volume = rng.normal(200 + 150 * s, 20, (slices, matrix, matrix))
        for name, (seq, slab, rows, cols) in REGIONS.items():
            if labels[name] and seq == s:
                volume[slab, rows, cols] += 400
        series_uid = generate_uid()
        for k, name_order in enumerate(rng.permutation(slices)):
            position = (np.array([-100.0, -90.0, 20.0]) + 4.0 * k * normal).round(4).tolist()
            ds = synthetic_image(np.clip(volume[k], 0, 4095).astype(np.uint16), modality="MR", sop_class=MR_IMAGE_STORAGE,
                                 bits_stored=12, uids=SyntheticUids(generate_uid(), study=study_uid, series=series_uid),
                                 patient=patient, attributes={
                                     "ImageOrientationPatient": orientation, "ImagePositionPatient": position,
                                     "PixelSpacing": [2.0, 2.0], "SliceThickness": 4.0, "SeriesDescription": sequence,
                                     "InstanceNumber": int(name_order) + 1, "Manufacturer": manufacturer,
                                     "InstitutionName": "Synthetic General Hospital", "StudyDate": "20260314"})
            path = out / folder / sequence / f"{int(name_order):03d}.dcm"
            path.parent.mkdir(parents=True, exist_ok=True)
            ds.save_as(path, enforce_file_format=True)
    return {"file": (folder / "study.json").as_posix(), "patient": patient_id, **labels,
            "site": "site-a" if index % 3 else "site-b"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--patients", type=int, default=40)
    parser.add_argument("--slices", type=int, default=8)
    parser.add_argument("--matrix", type=int, default=24)
    parser.add_argument("--seed", type=int, default=20261206)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    rows = [make_study(args.out, i, rng, args.slices, args.matrix) for i in range(args.patients)]
    test_patients = {r["patient"] for r in rows[: max(2, len(rows) // 3)]}
    with (args.out / "labels.csv").open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=["file", "split", *LABELS, "site"])
        writer.writeheader()
        for r in rows:
            writer.writerow({"file": r["file"], "split": "test" if r["patient"] in test_patients else "train",
                             **{k: r[k] for k in LABELS}, "site": r["site"]})
    print(f"wrote {len(rows)} studies ({len(rows) * args.slices * len(SEQUENCES)} slices) under {args.out}")


if __name__ == "__main__":
    main()
