"""Generate the example's synthetic chest X-ray dataset: raw DICOM with synthetic PHI, and its labels.

Seeded and deterministic. Every patient, name, date and identifier is invented (faker,
seeded); no real patient data is used. The images are CXR-like drawings, not anatomy:
two lung fields with vessel texture, a heart shadow, and three findings a small model
can learn but not perfectly:

- pneumothorax: a dark, texture-free rim at one lung's apex and side, with a pleural line;
- pleural_effusion: a bright fluid level with a meniscus at one lung base;
- cardiomegaly: a wider heart shadow (cardiothoracic ratio about 0.55 against 0.46).

Finding strength varies per case (the faintest pneumothoraces cannot be seen at all), so
held-out AUROC is real but imperfect. Built-in subgroup effect, for the bias protocol to
catch: images from the manufacturer "Northwind Imaging" are much noisier, so the model
does worse on them.

Writes `OUT/<split>/<site>/<patient>_<k>.dcm` (split at patient level) and
`OUT/labels.csv` (file, split, one 0/1 column per finding, site, then each synthetic
reader's read per finding as `<finding>@R1`, `<finding>@R2`: independent misreads,
never both on one case, so the adjudicated reference is the finding column; then
`exclusion`: the reason a test image was excluded before analysis, blank for the rest).
Sex, age, manufacturer, view (PA, or AP for portable images) and pixel spacing are only
in the DICOM headers; names and identifiers only in the headers. The view, the exclusions
and the reads each come from their own random stream, so the images do not depend on them.
"""

from __future__ import annotations

import argparse
import csv
import io
import sys
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import numpy as np
from faker import Faker
from PIL import Image, ImageDraw
from pydicom.dataset import Dataset
from pydicom.uid import ExplicitVRLittleEndian, RLELossless
from scipy.ndimage import gaussian_filter

from qms.synthetic_dicom import SyntheticPatient, SyntheticUids, synthetic_image

FINDINGS = ("pneumothorax", "pleural_effusion", "cardiomegaly")
PREVALENCE = {"pneumothorax": 0.3, "pleural_effusion": 0.3, "cardiomegaly": 0.3}
FIRST_STUDY = date(2019, 1, 1)
"""The earliest study date; ages (18-95) are drawn for it, so every patient is an adult at every study."""
SITES = {"site-a": "Riverside General Hospital (synthetic)", "site-b": "Lakeside Medical Centre (synthetic)",
         "site-c": "Hillcrest Clinic (synthetic)"}
SCANNERS = (  # manufacturer, model, modality, noise sigma, share of MONOCHROME1
    ("Acme Medical", "AcmeDR 500", "DX", 0.025, 0.0),
    ("Contoso Radiology", "ContosoCR 7", "CR", 0.03, 0.6),
    ("Northwind Imaging", "NW-X 2", "DX", 0.2, 0.2),  # the noisy one: the built-in subgroup effect
)
DX_CLASS, CR_CLASS = "1.2.840.10008.5.1.4.1.1.1.1", "1.2.840.10008.5.1.4.1.1.1"
BITS = 12
ANATOMY = (0.1, 0.75)
"""Share of the stored range anatomy occupies; burned-in text is drawn at the range's ends, as modalities do."""
ROOT_UID = "1.2.826.0.1.3680043.10.1051."  # a synthetic UID prefix for generated objects
READERS = ("R1", "R2")
MISREAD = 0.05
"""Each synthetic reader's chance of misreading a finding (its own stream: the images do not change)."""
AP_SHARE = 0.25
"""Share of portable AP images (the rest PA): header only, the drawing is the same."""
EXCLUSIONS = ("image does not include both lung apices and costophrenic angles",
              "lung fields obscured by support devices")
"""Exclusion reasons, as VAL-PERF-001's data.exclusion states them."""
EXCLUDED_SHARE = 0.03
"""Share of test images excluded (training images are never excluded, so the model does not depend on it)."""


@dataclass(frozen=True)
class Patient:
    ordinal: int
    sex: str
    age: int
    family: str
    given: str
    mrn: str
    birth: date
    site: str
    scanner: int


def _age(birth: date, on: date) -> int:
    """Whole years of age on a date, as PatientAge (0010,1010) states it."""
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def _patient(fake: Faker, rng: np.random.Generator, ordinal: int) -> Patient:
    sex = "F" if rng.random() < 0.5 else "M"
    age = int(rng.integers(18, 96))
    given = fake.first_name_female() if sex == "F" else fake.first_name_male()
    birth = FIRST_STUDY - timedelta(days=int(age * 365.25 + rng.integers(0, 365)))
    return Patient(ordinal, sex, age, fake.last_name(), given, f"MRN{fake.unique.random_number(digits=8, fix_len=True)}",
                   birth, str(rng.choice(list(SITES))), int(rng.integers(0, len(SCANNERS))))


def _ellipse(h: int, w: int, cy: float, cx: float, ry: float, rx: float) -> np.ndarray:
    yy, xx = np.mgrid[0:h, 0:w]
    inside: np.ndarray = (((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2) <= 1.0
    return inside


def draw(rng: np.random.Generator, labels: dict[str, int], h: int, w: int, noise: float) -> np.ndarray:
    """One CXR-like image in [0, 1], 1 white (bone, fluid), 0 black (air)."""
    img = np.full((h, w), 0.05)
    img[_ellipse(h, w, h * 0.55, w * 0.5, h * 0.48, w * 0.46)] = 0.55  # body
    texture = gaussian_filter(rng.normal(0, 1, (h, w)), 1.2)
    effusion_side = 1 if rng.random() < 0.6 else -1
    for side in (-1, 1):
        lung = _ellipse(h, w, h * 0.5, w * (0.5 + side * 0.2), h * 0.33, w * 0.15)
        img[lung] = 0.22 + 0.05 * texture[lung]
        if side == -1 and labels["pneumothorax"]:  # image left = patient right
            occult = rng.random() < 0.2  # too faint to see: no model finds these
            depth, contrast = rng.uniform(0.2, 0.65), rng.uniform(0.0, 0.02) if occult else rng.uniform(0.10, 0.20)
            cy, cx = h * 0.5, w * (0.5 + side * 0.2)
            rim = lung & ~_ellipse(h, w, cy + h * 0.33 * depth * 0.5, cx + side * -w * 0.15 * depth * 0.4,
                                   h * 0.33 * (1 - depth * 0.5), w * 0.15 * (1 - depth * 0.5))
            img[rim] = 0.22 - contrast
            edge = rim & ~np.roll(rim, 1, axis=1) | rim & ~np.roll(rim, -1, axis=1)
            img[edge] = 0.22 + 0.6 * contrast
        if labels["pleural_effusion"] and side == effusion_side:
            level = h * (0.83 - rng.uniform(0.12, 0.4) * 0.66)
            yy, xx = np.mgrid[0:h, 0:w]
            meniscus = level - 4.0 * np.abs(xx - w * (0.5 + side * 0.2)) / (w * 0.15)
            fluid = lung & (yy > meniscus)
            img[fluid] = rng.uniform(0.45, 0.6)
    ctr = rng.normal(0.55, 0.045) if labels["cardiomegaly"] else rng.normal(0.46, 0.045)
    heart = _ellipse(h, w, h * 0.64, w * 0.53, h * 0.17, w * ctr / 2)
    img[heart] = 0.6 + 0.03 * texture[heart]
    img[:, int(w * 0.47):int(w * 0.53)] += 0.12 * _ellipse(h, w, h * 0.4, w * 0.5, h * 0.4, w * 0.5)[:, int(w * 0.47):int(w * 0.53)]
    img = gaussian_filter(img, 0.8) + rng.normal(0, noise, (h, w))
    clipped: np.ndarray = np.clip(img, 0.0, 1.0)
    return clipped


def burn_in(pixels: np.ndarray, text: str) -> np.ndarray:
    """Write text on a black band across the top, as some modalities burn in patient details."""
    canvas = Image.new("L", (pixels.shape[1], 16), 0)
    ImageDraw.Draw(canvas).text((2, 2), text, fill=255)
    out = pixels.copy()
    out[:16] = np.asarray(canvas, dtype=np.float64) / 255.0
    return out


def dicom(p: Patient, pixels: np.ndarray, study: date, k: int, rng: np.random.Generator, fake: Faker,
          monochrome1: bool, burned: bool, compress: bool, seed: int, view: str = "PA") -> Dataset:
    """One radiograph of patient `p`: its header here, the image object from the one builder (`qms.synthetic_dicom`)."""
    manufacturer, model, modality, _, _ = SCANNERS[p.scanner]
    stored = np.round(pixels * (2**BITS - 1)).astype(np.uint16)
    if monochrome1:
        stored = (2**BITS - 1 - stored).astype(np.uint16)
    date_ = study.strftime("%Y%m%d")
    time_ = f"{rng.integers(7, 20):02d}{rng.integers(0, 60):02d}00"
    top = 2**BITS - 1
    middle = top * (ANATOMY[0] + ANATOMY[1]) / 2  # the VOI window shows the anatomy, not the text's extremes
    square = pixels.shape[0] == pixels.shape[1]
    header: dict[str, object] = {
        "StudyDate": date_, "SeriesDate": date_, "ContentDate": date_,
        "StudyTime": time_, "SeriesTime": time_, "ContentTime": time_,
        "AccessionNumber": f"ACC{fake.unique.random_number(digits=9, fix_len=True)}",
        "StudyID": str(k), "SeriesNumber": 1, "InstanceNumber": 1,
        "InstitutionName": SITES[p.site], "InstitutionAddress": fake.address().replace("\n", ", "),
        "ReferringPhysicianName": f"{fake.last_name()}^{fake.first_name()}",
        "OperatorsName": f"{fake.last_name()}^{fake.first_name()}",
        "StudyDescription": f"CHEST {view}", "SeriesDescription": view,
        "Manufacturer": manufacturer, "ManufacturerModelName": model, "BodyPartExamined": "CHEST", "ViewPosition": view,
        "BurnedInAnnotation": "YES" if burned else "NO",
        "ImagerPixelSpacing": [0.3, 0.3] if square else [0.3, 0.35],
        "PresentationLUTShape": "INVERSE" if monochrome1 else "IDENTITY",
        "WindowCenter": round(top - middle if monochrome1 else middle),
        "WindowWidth": round(top * (ANATOMY[1] - ANATOMY[0])),
        "RescaleIntercept": 0, "RescaleSlope": 1, "RescaleType": "US",
    }
    if modality == "DX":  # calibrated at the patient plane (PS3.3 C.8.11.7): a 1.1 magnification corrected
        header["PresentationIntentType"] = "FOR PRESENTATION"
        header["PixelSpacing"] = [0.2727, 0.2727] if square else [0.2727, 0.3182]
    who = SyntheticPatient(p.mrn, name=f"{p.family}^{p.given}", birth_date=p.birth.strftime("%Y%m%d"), sex=p.sex,
                           age=f"{min(_age(p.birth, study), 120):03d}Y")
    return synthetic_image(stored, modality=modality, sop_class=DX_CLASS if modality == "DX" else CR_CLASS,
                           photometric="MONOCHROME1" if monochrome1 else "MONOCHROME2", bits_stored=BITS,
                           transfer_syntax=RLELossless if compress else ExplicitVRLittleEndian,
                           uids=SyntheticUids.seeded(seed, p.ordinal, k, prefix=ROOT_UID), patient=who,
                           attributes=header)


def generate(out: Path, *, patients: int, seed: int, size: int) -> int:
    """Write the dataset under `out`; returns the number of images."""
    rng = np.random.default_rng(seed)
    fake = Faker("en_US")
    fake.seed_instance(seed)  # per instance, so its unique-value memory starts empty on every call
    order = rng.permutation(patients)
    test_ids = set(order[: int(round(patients * 0.35))].tolist())
    header_rng = np.random.default_rng([seed, 3])  # view and exclusions: their own stream, the images do not change
    rows = []
    for ordinal in range(patients):
        p = _patient(fake, rng, ordinal)
        split = "test" if ordinal in test_ids else "train"
        first = FIRST_STUDY + timedelta(days=int(rng.integers(0, 4 * 365)))
        for k in range(1, int(rng.integers(1, 5)) + 1):
            labels = {f: int(rng.random() < PREVALENCE[f]) for f in FINDINGS}
            _, _, _, noise, mono1_share = SCANNERS[p.scanner]
            width = size if rng.random() < 0.8 else int(size * 0.875)
            pixels = ANATOMY[0] + (ANATOMY[1] - ANATOMY[0]) * draw(rng, labels, size, width, noise)
            burned = rng.random() < 0.05
            if burned:
                pixels = burn_in(pixels, f"{p.family.upper()[:8]} {p.mrn}")
            study = first + timedelta(days=int(rng.integers(30, 400)) * (k - 1))
            view = "AP" if header_rng.random() < AP_SHARE else "PA"
            ds = dicom(p, pixels, study, k, rng, fake, rng.random() < mono1_share, burned,
                       compress=not burned and rng.random() < 0.1, seed=seed, view=view)
            rel = f"{split}/{p.site}/{p.ordinal:04d}_{k}.dcm"
            path = out / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            buffer = io.BytesIO()
            ds.save_as(buffer, enforce_file_format=True)
            path.write_bytes(buffer.getvalue())
            excluded = header_rng.random() < EXCLUDED_SHARE and split == "test"
            rows.append({"file": rel, "split": split, **labels, "site": p.site,
                         "exclusion": str(header_rng.choice(EXCLUSIONS)) if excluded else ""})
    reads = _reader_reads(rows, seed)
    with (out / "labels.csv").open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=["file", "split", *FINDINGS, "site", *reads[0], "exclusion"])
        writer.writeheader()
        writer.writerows({**row, **r} for row, r in zip(rows, reads, strict=True))
    return len(rows)


def _reader_reads(rows: list[dict[str, object]], seed: int) -> list[dict[str, int]]:
    """Two readers' reads of each finding: each misreads independently, a shared misread is left to the first."""
    rng = np.random.default_rng([seed, 2])
    out = []
    for row in rows:
        reads: dict[str, int] = {}
        for f in FINDINGS:
            truth = int(row[f])  # type: ignore[call-overload]
            wrong = rng.random(len(READERS)) < MISREAD
            wrong[1:] &= ~wrong[0]
            reads |= {f"{f}@{r}": truth ^ int(w) for r, w in zip(READERS, wrong, strict=True)}
        out.append(reads)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("data/raw"))
    parser.add_argument("--patients", type=int, default=320)
    parser.add_argument("--seed", type=int, default=20261201)
    parser.add_argument("--size", type=int, default=128)
    args = parser.parse_args(argv)
    if args.out.exists() and any(args.out.iterdir()):
        print(f"error: {args.out} is not empty; the generator writes a fresh dataset only", file=sys.stderr)
        return 2
    count = generate(args.out, patients=args.patients, seed=args.seed, size=args.size)
    print(f"wrote {count} images and labels.csv under {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
