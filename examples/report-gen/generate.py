"""Synthetic chest radiographs with seeded synthetic PHI, their reference reports, and labels.csv.

Each image shows its findings as drawn shapes (a dark apex for pneumothorax, a bright base
for pleural effusion on the side named, a wide heart for cardiomegaly); its reference report
is written from the same findings, so a model can learn to write it. Nothing is real:
names and ids come from a seeded generator, and the reports carry no identifiers.
labels.csv keys each image by path, with the split, the three findings, the site, the
reference reports in reports.csv (file, reference, has_prior), apart from the labels.

    python generate.py --out data/raw --patients 60 --seed 20261206
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import numpy as np
from pydicom.uid import generate_uid

from qms.synthetic_dicom import SyntheticPatient, SyntheticUids, synthetic_image

FINDINGS = ("pneumothorax", "pleural_effusion", "cardiomegaly")
NAMES = ("Rowan^Hale", "Ines^Marlow", "Theo^Brandt", "Mira^Solberg", "Jonas^Peake")
SIZE = 32


def report(findings: dict[str, int], side: str) -> str:
    """The reference report the image's findings call for (the model's target text)."""
    parts = []
    if findings["pneumothorax"]:
        parts.append(f"{side} pneumothorax .")
    if findings["pleural_effusion"]:
        parts.append(f"small {side} pleural effusion .")
    if findings["cardiomegaly"]:
        parts.append("cardiomegaly .")
    return " ".join(parts) if parts else "no acute cardiopulmonary abnormality ."


def image(findings: dict[str, int], side: str, rng: np.random.Generator) -> np.ndarray:
    x = rng.normal(1500, 60, (SIZE, SIZE))
    cols = slice(2, 14) if side == "right" else slice(18, 30)  # the patient's right is the image's left
    x[6:26, 10:22] += 600 if findings["cardiomegaly"] else 0
    x[8:24, 12:20] += 400
    if findings["pneumothorax"]:
        x[1:9, cols] -= 900
    if findings["pleural_effusion"]:
        x[24:31, cols] += 1200
    return np.clip(x, 0, 4095).astype(np.uint16)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--patients", type=int, default=60)
    parser.add_argument("--seed", type=int, default=20261206)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    rows: list[dict[str, object]] = []
    reports: list[dict[str, object]] = []
    for i in range(args.patients):
        findings = {f: int(rng.random() < 0.35) for f in FINDINGS}
        side = str(rng.choice(["left", "right"]))
        patient = SyntheticPatient(f"MRN{200000 + i}", name=str(rng.choice(NAMES)), sex=str(rng.choice(["F", "M"])),
                                   age=f"0{rng.integers(20, 89)}Y", birth_date="19600101")
        ds = synthetic_image(image(findings, side, rng), bits_stored=12, patient=patient,
                             uids=SyntheticUids(generate_uid(), study=generate_uid(), series=generate_uid()),
                             attributes={"ViewPosition": "PA", "Manufacturer": "Synthetic DX",
                                         "InstitutionName": "Synthetic General Hospital", "StudyDate": "20260314"})
        path = Path(f"p{i:04d}.dcm")
        args.out.mkdir(parents=True, exist_ok=True)
        ds.save_as(args.out / path, enforce_file_format=True)
        rows.append({"file": path.as_posix(), "split": "test" if i < args.patients // 3 else "train", **findings,
                     "site": "site-b" if i % 4 == 0 else "site-a"})
        reports.append({"file": path.as_posix(), "reference": report(findings, side), "has_prior": "false"})
    for name, table in (("labels.csv", rows), ("reports.csv", reports)):
        with (args.out / name).open("w", newline="", encoding="utf-8") as f:
            writer = csv.DictWriter(f, fieldnames=list(table[0]))
            writer.writeheader()
            writer.writerows(table)
    print(f"wrote {len(rows)} images and reports under {args.out}")


if __name__ == "__main__":
    main()
