"""Held-out synthetic DICOM corpus with planted PHI, for de-identification tests.

Provenance
----------
* Every name, identifier, date, address and pixel in this module is SYNTHETIC,
  drawn from small hand-written word lists and ``random.Random(seed)``.  No
  real patient data was used or consulted.
* Written BLIND to the de-identifier: its author did not read ``deid/``, its
  tests or its benchmarks; only the user docs (README, ``--help``) and the
  DICOM PS3.15 Annex E table.  Do not "fix" it to match the tool.
* Deterministic for a given ``(seed, n)``.

API
---
``generate(seed, out_dir, n) -> list[Planted]`` writes ``n`` DICOM files into
``out_dir`` and returns every planted value: ``Planted(file, tag_path, kind,
value, needles)`` where ``needles`` are the strings whose presence (case
insensitive) in an output means the value survived (surname for names, the
written form plus digits-only form for numbers, every common rendering for
dates).  ``tag_path`` is like ``ContentSequence[0].ContentSequence[1].TextValue``,
``(0011,1001)``, ``PixelData[frame=1]`` or ``<filename>``.

As a script: ``python tests/corpora/dicom_heldout.py --seed 7 -n 150 -o DIR``
writes the files and ``DIR/../planted.json``.
"""
from __future__ import annotations

import argparse
import dataclasses
import datetime as _dt
import io
import json
import random
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.encaps import encapsulate
from pydicom.sequence import Sequence
from pydicom.uid import (
    ExplicitVRLittleEndian, ImplicitVRLittleEndian, RLELossless, JPEGLSLossless,
    JPEG2000Lossless, JPEGBaseline8Bit, PYDICOM_IMPLEMENTATION_UID,
)

__all__ = ["Planted", "generate", "KINDS", "date_variants"]

KINDS = ("NAME", "MRN", "DATE", "AGE_OVER_89", "SSN", "PHONE", "ADDRESS", "EMAIL",
         "ACCESSION", "UID", "INSTITUTION", "DEVICE_SERIAL", "OTHER_ID")

SOP = {
    "CT": "1.2.840.10008.5.1.4.1.1.2", "MR": "1.2.840.10008.5.1.4.1.1.4",
    "CR": "1.2.840.10008.5.1.4.1.1.1", "US": "1.2.840.10008.5.1.4.1.1.6.1",
    "USMF": "1.2.840.10008.5.1.4.1.1.3.1", "SC": "1.2.840.10008.5.1.4.1.1.7",
    "SR": "1.2.840.10008.5.1.4.1.1.88.11",
}

SURNAMES = ["Kowalczyk", "Okonkwo", "Vandermeer", "Thistlewood", "Abernathy", "Quintero",
            "Haverford", "Lindqvist", "Castellanos", "Nakamura", "Brzezinski", "Oyelaran",
            "Pemberton", "Szymanski", "Whitcombe", "Achterberg", "Bellweather", "Crisostomo",
            "Dunleavy", "Esterhazy", "Hollingsworth", "Iwasaki", "Jablonski", "Krzyzewski",
            "Mbeki-Long", "O'Shaughnessy", "De La Cruz", "Rose", "Young", "Hope", "Whitfield",
            "Zielinski", "Papadopoulos", "Guzman-Ortega", "Tran", "Li", "Ngata"]
GIVEN = ["Margarethe", "Thaddeus", "Oluwaseun", "Priyanka", "Bartholomew", "Esperanza",
         "Ingeborg", "Leopold", "Wilhelmina", "Cornelius", "Rose", "Hope", "June", "Grace",
         "Xiomara", "Evander", "Siobhan", "Rafferty", "Anneliese", "Ezekiel", "Marisol"]
DOC_SURNAMES = ["Fairbrother", "Gwynedd", "Halvorsen", "Ivanova", "Jorgensen", "Kaczmarek",
                "Lautenschlager", "Moreau-Blanc", "Nwachukwu", "Ostrowski", "Prendergast"]
STREETS = ["Larkspur Ln", "Quarry Hollow Rd", "Old Mill Pike", "Wexford Ct", "Cedarbrook Ave",
           "Tannery St", "Kestrel Ridge Dr", "Bramblewood Way"]
CITIES = [("Dunmore", "PA"), ("Pocatello", "ID"), ("Keokuk", "IA"), ("Natchitoches", "LA"),
          ("Wapakoneta", "OH"), ("Bemidji", "MN")]
INSTITUTIONS = ["Thistlewood Memorial Hospital", "St. Aldric Regional Medical Center",
                "Quarry Hollow Imaging Associates", "Bemidji Lakeside Clinic",
                "Keokuk Valley Radiology PC"]
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December"]
ONES = ["", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
TENS = {9: "ninety", 10: "one hundred"}
FONT_PATHS = ["/usr/share/fonts/truetype/dejavu/DejaVuSansMono-Bold.ttf",
              "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
              "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf"]


@dataclass
class Planted:
    file: str
    tag_path: str
    kind: str
    value: str
    needles: list[str] = field(default_factory=list)


def date_variants(d: _dt.date) -> list[str]:
    m3 = MONTHS[d.month - 1][:3]
    return sorted({
        d.strftime("%Y%m%d"), d.strftime("%Y-%m-%d"), d.strftime("%m/%d/%Y"),
        f"{d.month}/{d.day}/{d.year}", d.strftime("%d.%m.%Y"), d.strftime("%Y/%m/%d"),
        f"{MONTHS[d.month - 1]} {d.day}, {d.year}", f"{m3} {d.day}, {d.year}",
        f"{d.day:02d}-{m3.upper()}-{d.year}", f"{d.day} {m3} {d.year}",
        f"{d.day}-{m3}-{d.year}", f"{d.month}/{d.day}/{d.year % 100:02d}",
    })


def _digits(s: str) -> str:
    return re.sub(r"\D", "", s)


def _age_words(a: int) -> str:
    if a >= 100:
        return "one hundred" + (f" {ONES[a - 100]}" if a > 100 else "")
    return TENS[a // 10] + (f"-{ONES[a % 10]}" if a % 10 else "")


class _Patient:
    def __init__(self, r: random.Random, idx: int):
        self.r = r
        self.given = r.choice(GIVEN)
        self.middle = r.choice("ABCDEFGHJKLMNPRSTW")
        self.surname = SURNAMES[idx % len(SURNAMES)] if idx < len(SURNAMES) else r.choice(SURNAMES)
        self.age = r.choice([91, 93, 96, 97, 102, 90, 94]) if r.random() < 0.45 else r.randint(23, 80)
        today = _dt.date(2023, 1, 1) + _dt.timedelta(days=r.randint(0, 900))
        self.study_date = today
        self.dob = _dt.date(today.year - self.age, r.randint(1, 12), r.randint(1, 28))
        shape = r.randrange(6)
        self.mrn = [lambda: f"E{r.randint(1000000, 9999999)}",
                    lambda: f"MR-{r.randint(10000, 99999)}-{r.randint(10, 99)}",
                    lambda: f"{r.randint(1, 99999999):010d}",
                    lambda: f"BW{r.randint(100000, 999999)}",
                    lambda: f"{r.randint(10, 99)}-{r.randint(100, 999)}-{r.randint(10, 99)}",
                    lambda: f"{r.randint(100, 999)}.{r.randint(100, 999)}.{r.randint(100, 999)}"][shape]()
        self.ssn = f"{r.randint(100, 665)}-{r.randint(10, 99)}-{r.randint(1000, 9999)}"
        a, b, c = r.randint(201, 989), r.randint(201, 989), r.randint(1000, 9999)
        self.phone = r.choice([f"({a}) {b}-{c}", f"{a}.{b}.{c}", f"+1 {a} {b} {c} x{r.randint(10, 999)}",
                               f"{a}-{b}-{c} ext. {r.randint(10, 999)}", f"{a}{b}{c}"])
        self.phone_digits = f"{a}{b}{c}"
        city, st = r.choice(CITIES)
        self.street = f"{r.randint(12, 9899)} {r.choice(STREETS)}"
        self.unit = r.choice([f"Suite {r.randint(100, 950)}", f"Apt {r.randint(1, 40)}{r.choice('ABCD')}",
                              f"#{r.randint(2, 99)}", f"Ste. {r.randint(100, 400)}B"])
        self.city, self.state, self.zip = city, st, f"{r.randint(10000, 99999)}"
        self.email = f"{self.given[0].lower()}{re.sub(r'[^a-z]', '', self.surname.lower())}{r.randint(10, 99)}@" \
                     f"{r.choice(['gmail.com', 'yahoo.com', 'comcast.net', 'protonmail.ch'])}"
        self.accession = r.choice([f"ACC{today.year}-{r.randint(100000, 999999)}", f"RAD{r.randint(1000000, 9999999)}",
                                   f"A{r.randint(10, 99)}B{r.randint(10000, 99999)}"])
        self.other_id = f"INS-{r.randint(100000, 999999)}-{r.choice('XYZ')}"
        self.doctor = (r.choice(DOC_SURNAMES), r.choice(GIVEN))
        self.institution = r.choice(INSTITUTIONS)
        self.serial = f"SN{r.randint(10000, 99999)}{r.choice('KQZ')}"
        self.study_uid = _uid(r)

    # name renderings
    def name_forms(self) -> list[str]:
        g, s, m = self.given, self.surname, self.middle
        return [f"{g} {s}", f"{s.upper()}, {g.upper()}", f"{s.lower()}, {g.lower()}", f"{s}, {g} {m}.",
                f"{s}^{g}^{m}", f"{g.upper()} {m} {s.upper()}", f"Mr./Ms. {s}", f"{g[0]}. {s}",
                f"{s.lower()} {g.lower()}", f"{s.upper()}"]

    def name_needles(self) -> list[str]:
        return [self.surname]


def _uid(r: random.Random) -> str:
    return "1.2.826.0.1.3680043.9." + ".".join(str(r.randint(1, 99999)) for _ in range(4))


class _Ctx:
    """Collects planted values for one file."""

    def __init__(self, fname: str, p: _Patient, r: random.Random):
        self.fname, self.p, self.r = fname, p, r
        self.planted: list[Planted] = []

    def add(self, path: str, kind: str, value: str, needles: list[str] | None = None) -> None:
        if needles is None:
            needles = [value]
            if kind in ("SSN", "PHONE", "MRN", "ACCESSION") and len(_digits(value)) >= 7:
                needles.append(_digits(value))
        self.planted.append(Planted(self.fname, path, kind, value, sorted(set(needles))))

    # segment builder: items are str or (kind, value, needles)
    def text(self, path: str, segs: list, case: str | None = None) -> str:
        out = []
        for s in segs:
            if isinstance(s, str):
                out.append(s)
            else:
                kind, value, needles = s
                if case == "upper":
                    value = value.upper()
                elif case == "lower":
                    value = value.lower()
                out.append(value)
                self.add(path, kind, value, needles)
        t = "".join(out)
        return t.upper() if case == "upper" else t.lower() if case == "lower" else t

    # planted pieces
    def name(self):
        return ("NAME", self.r.choice(self.p.name_forms()), self.p.name_needles())

    def doc(self):
        s, g = self.p.doctor
        return ("NAME", self.r.choice([f"Dr. {s}", f"{g} {s}, MD", f"{s.upper()}^{g.upper()}", f"dr {s.lower()}"]), [s])

    def date(self, d: _dt.date | None = None):
        d = d or self.p.dob
        v = self.r.choice(date_variants(d))
        return ("DATE", v, date_variants(d))

    def age(self):
        a = self.p.age
        if a <= 89:
            return ("AGE_OVER_89", "", [])  # filtered below
        f = self.r.choice([f"{a} y/o", f"{a}-year-old", f"{a}yo", f"aged {a}", f"{_age_words(a)} year old",
                           f"{_age_words(a)}-year-old"])
        return ("AGE_OVER_89", f, [f])

    def num(self, kind: str, v: str):
        n = [v]
        if len(_digits(v)) >= 7:
            n.append(_digits(v))
        return (kind, v, n)


def _clean(segs: list) -> list:
    return [s for s in segs if isinstance(s, str) or s[1]]


def _free_text(c: _Ctx, path: str) -> str:
    p, r = c.p, c.r
    age = c.age()
    tmpl = r.randrange(12)
    segs = [
        ["Pt ", c.name(), " DOB ", c.date(), " MRN ", c.num("MRN", p.mrn), ", ", age, " presents w/ SOB"],
        ["Hx per ", c.doc(), "; call pt at ", c.num("PHONE", p.phone), " re results"],
        ["home address ", ("ADDRESS", f"{p.street}, {p.unit}", [p.street]), ", ", ("ADDRESS", f"{p.city}, {p.state} {p.zip}", [f"{p.city}, {p.state} {p.zip}", p.city]), " per registration"],
        ["SSN ", c.num("SSN", p.ssn), " on file; email ", ("EMAIL", p.email, [p.email]), ""],
        ["prior exam ", c.date(p.study_date - _dt.timedelta(days=r.randint(30, 900))), " acc# ", c.num("ACCESSION", p.accession), " at ", ("INSTITUTION", p.institution, [p.institution])],
        ["compare with prior study UID ", ("UID", (u := _uid(r)), [u]), " read by ", c.doc()],
        [c.name(), " is a ", age, " with hx CHF, seen ", c.date(p.study_date), ""],
        ["wife ", ("NAME", f"{r.choice(GIVEN)} {p.surname}", [p.surname]), " at bedside; ph ", c.num("PHONE", p.phone)],
        ["outside films from ", ("INSTITUTION", p.institution, [p.institution]), " MRN#", c.num("MRN", p.mrn)],
        ["f/u CT ordered by ", c.doc(), " for pt ", c.name(), " (", c.num("MRN", p.mrn), ")"],
        ["Insurance id ", ("OTHER_ID", p.other_id, [p.other_id]), "; pt ", c.name()],
        [age, " female, ", c.name(), ", born ", c.date()],
    ][tmpl]
    case = r.choice([None, None, "upper", "lower"])
    return c.text(path, _clean(segs), case)


def _private(ds: Dataset, c: _Ctx) -> None:
    p, r = c.p, c.r
    choice = r.randrange(4)
    if choice in (0, 1):
        blk = ds.private_block(0x0011, "ACME MEDICAL RECON 2.1", create=True)
        blk.add_new(0x01, "LO", c.text("(0011,1001)", [c.name()]))
        blk.add_new(0x02, "LO", c.text("(0011,1002)", [c.num("MRN", p.mrn)]))
        blk.add_new(0x03, "LT", _free_text(c, "(0011,1003)"))
    if choice in (1, 2):
        # private elements WITHOUT a private creator
        ds.add_new(0x00131010, "LO", c.text("(0013,1010)", [c.name()]))
        ds.add_new(0x00131011, "LO", c.text("(0013,1011)", [c.date()]))
        ds.add_new(0x00131012, "UN", c.text("(0013,1012)", ["PID=", c.num("MRN", p.mrn)]).encode("ascii"))
    if choice == 3:
        blk = ds.private_block(0x0029, "SIEMENS CSA HEADER", create=True)
        blk.add_new(0x20, "OB", ("xx<patient>" + c.text("(0029,1020)", [c.name(), " ", c.num("SSN", p.ssn)]) + "</patient>\0").encode("ascii"))
        item = Dataset()
        item.private_block(0x0009, "GEMS_IDEN_01", create=True).add_new(0x01, "LO", c.text("(0029,1021)[0].(0009,1001)", [c.name()]))
        blk.add_new(0x21, "SQ", Sequence([item]))


def _sr_content(c: _Ctx, ds: Dataset) -> None:
    p, r = c.p, c.r

    def code(v, m):
        cd = Dataset(); cd.CodeValue = v; cd.CodingSchemeDesignator = "99LOCAL"; cd.CodeMeaning = m
        return Sequence([cd])

    def text_item(path, rel="CONTAINS"):
        it = Dataset(); it.RelationshipType = rel; it.ValueType = "TEXT"
        it.ConceptNameCodeSequence = code("121071", "Finding")
        it.TextValue = _free_text(c, path + ".TextValue")
        return it

    def pname_item(path):
        it = Dataset(); it.RelationshipType = "HAS OBS CONTEXT"; it.ValueType = "PNAME"
        it.ConceptNameCodeSequence = code("121008", "Person Observer Name")
        s, g = p.doctor
        it.PersonName = f"{s}^{g}"
        c.add(path + ".PersonName", "NAME", str(it.PersonName), [s])
        return it

    def date_item(path):
        it = Dataset(); it.RelationshipType = "HAS OBS CONTEXT"; it.ValueType = "DATE"
        it.ConceptNameCodeSequence = code("111060", "Study Date")
        it.Date = p.dob.strftime("%Y%m%d")
        c.add(path + ".Date", "DATE", it.Date, date_variants(p.dob))
        return it

    lvl3 = [text_item("ContentSequence[1].ContentSequence[0].ContentSequence[0]"),
            pname_item("ContentSequence[1].ContentSequence[0].ContentSequence[1]")]
    deep = Dataset(); deep.RelationshipType = "CONTAINS"; deep.ValueType = "CONTAINER"
    deep.ConceptNameCodeSequence = code("121070", "Findings"); deep.ContinuityOfContent = "SEPARATE"
    lvl4 = text_item("ContentSequence[1].ContentSequence[0].ContentSequence[2].ContentSequence[0]")
    cont4 = Dataset(); cont4.RelationshipType = "CONTAINS"; cont4.ValueType = "CONTAINER"
    cont4.ConceptNameCodeSequence = code("121072", "Impression"); cont4.ContinuityOfContent = "SEPARATE"
    cont4.ContentSequence = Sequence([lvl4])
    lvl3.append(cont4)
    deep.ContentSequence = Sequence(lvl3)
    sec = Dataset(); sec.RelationshipType = "CONTAINS"; sec.ValueType = "CONTAINER"
    sec.ConceptNameCodeSequence = code("121064", "Current Procedure Descriptions"); sec.ContinuityOfContent = "SEPARATE"
    sec.ContentSequence = Sequence([deep])
    ds.ValueType = "CONTAINER"; ds.ContinuityOfContent = "SEPARATE"
    ds.ConceptNameCodeSequence = code("18748-4", "Diagnostic Imaging Report")
    ds.ContentSequence = Sequence([pname_item("ContentSequence[0]"), sec, date_item("ContentSequence[2]"),
                                   text_item("ContentSequence[3]")])
    vo = Dataset(); s, g = p.doctor
    vo.VerifyingObserverName = f"{s}^{g}"; vo.VerifyingOrganization = p.institution
    vo.VerificationDateTime = p.study_date.strftime("%Y%m%d") + "101500"
    c.add("VerifyingObserverSequence[0].VerifyingObserverName", "NAME", str(vo.VerifyingObserverName), [s])
    c.add("VerifyingObserverSequence[0].VerifyingOrganization", "INSTITUTION", p.institution, [p.institution])
    ds.VerifyingObserverSequence = Sequence([vo])
    ds.CompletionFlag = "COMPLETE"; ds.VerificationFlag = "VERIFIED"


def _font(size: int):
    for fp in FONT_PATHS:
        try:
            return ImageFont.truetype(fp, size)
        except OSError:
            continue
    return ImageFont.load_default()


def _burn(c: _Ctx, w: int, h: int, frame: int | None) -> tuple[Image.Image, list[tuple[str, str]]]:
    """Return an 'L' mask image with name+MRN text and the strings drawn."""
    p, r = c.p, c.r
    name = r.choice([f"{p.surname.upper()}, {p.given.upper()}", f"{p.surname.upper()}^{p.given.upper()}",
                     f"{p.given} {p.surname}"])
    mrn = p.mrn
    mask = Image.new("L", (w, h), 0)
    d = ImageDraw.Draw(mask)
    f = _font(max(14, w // 22))
    x0, y0 = (8, 8) if r.random() < 0.6 else (8, h - 3 * (w // 22) - 16)
    d.text((x0, y0), name, fill=255, font=f)
    d.text((x0, y0 + w // 20 + 4), f"MRN: {mrn}", fill=255, font=f)
    where = "PixelData" + (f"[frame={frame}]" if frame is not None else "")
    c.add(where, "NAME", name, [p.surname])
    c.add(where, "MRN", mrn, [mrn])
    return mask, [(name, mrn)]


def _image(ds: Dataset, c: _Ctx, modality: str) -> str:
    """Fill pixel module; returns the transfer syntax to use."""
    r = c.r
    variant = r.choice(["max16", "mid8", "mono1", "rgb", "palette", "multiframe", "max16", "mid8"]) \
        if modality != "US" else r.choice(["rgb", "palette", "multiframe", "mid8"])
    if modality == "SC":
        variant = r.choice(["rgb", "mid8", "max16"])
    w = h = r.choice([256, 320])
    burn = r.random() < 0.7
    if r.random() < 0.5:
        ds.BurnedInAnnotation = "NO"
    rng = np.random.default_rng(r.randint(0, 2**31))
    yy, xx = np.mgrid[0:h, 0:w]
    blob = np.exp(-(((xx - w / 2) ** 2 + (yy - h / 2) ** 2) / (2 * (w / 4) ** 2)))

    def mask(frame=None):
        if not burn:
            return np.zeros((h, w), bool)
        m, _ = _burn(c, w, h, frame)
        return np.asarray(m) > 127

    ds.Rows, ds.Columns = h, w
    if variant in ("max16", "mono1", "multiframe"):
        nfr = 3 if variant == "multiframe" else 1
        frames = []
        for k in range(nfr):
            arr = (blob * 1800 + rng.normal(300, 40, (h, w))).clip(0, 4000).astype(np.uint16)
            if k == nfr - 1 or nfr == 1:
                mk = mask(k if nfr > 1 else None)
                if variant == "mono1":
                    arr = (4095 - arr).astype(np.uint16)
                    arr[mk] = 0          # white in MONOCHROME1
                else:
                    arr[mk] = 4095       # maximum stored value
            frames.append(arr)
        ds.SamplesPerPixel = 1
        ds.PhotometricInterpretation = "MONOCHROME1" if variant == "mono1" else "MONOCHROME2"
        ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
        ds.WindowCenter, ds.WindowWidth = 2048, 4096
        if nfr > 1:
            ds.NumberOfFrames = nfr
            ds.FrameIncrementPointer = 0x00181063
            ds.FrameTime = 33.3
        px = np.stack(frames) if nfr > 1 else frames[0]
        ds.PixelData = px.tobytes()
        ts = r.choice([ExplicitVRLittleEndian, ImplicitVRLittleEndian, RLELossless, JPEGLSLossless, JPEG2000Lossless])
    elif variant == "mid8":
        arr = (blob * 60 + rng.normal(30, 8, (h, w))).clip(0, 255).astype(np.uint8)
        arr[mask()] = 128  # mid-grey
        ds.SamplesPerPixel = 1; ds.PhotometricInterpretation = "MONOCHROME2"
        ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 8, 8, 7, 0
        ds.PixelData = arr.tobytes()
        ts = r.choice([ExplicitVRLittleEndian, RLELossless, JPEGBaseline8Bit])
    elif variant == "rgb":
        g = (blob * 120 + rng.normal(20, 6, (h, w))).clip(0, 255).astype(np.uint8)
        arr = np.stack([g, g, g], -1)
        arr[mask()] = (255, 255, 0)
        ds.SamplesPerPixel = 3; ds.PhotometricInterpretation = "RGB"; ds.PlanarConfiguration = 0
        ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 8, 8, 7, 0
        ds.PixelData = arr.tobytes()
        ts = r.choice([ExplicitVRLittleEndian, RLELossless, JPEGBaseline8Bit])
    else:  # palette
        idx = (blob * 100 + rng.normal(10, 3, (h, w))).clip(0, 200).astype(np.uint8)
        idx[mask()] = 250
        lut = np.zeros(256, np.uint16)
        lut[:201] = np.linspace(0, 40000, 201).astype(np.uint16)
        lut[250] = 65535
        ds.SamplesPerPixel = 1; ds.PhotometricInterpretation = "PALETTE COLOR"
        ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 8, 8, 7, 0
        for ch, scale in (("Red", 1.0), ("Green", 0.8), ("Blue", 0.3)):
            setattr(ds, f"{ch}PaletteColorLookupTableDescriptor", [256, 0, 16])
            v = (lut.astype(float) * scale).astype(np.uint16)
            v[250] = 65535
            setattr(ds, f"{ch}PaletteColorLookupTableData", v.tobytes())
        ds.PixelData = idx.tobytes()
        ts = r.choice([ExplicitVRLittleEndian, RLELossless])
    return ts


def _encode(ds: Dataset, ts) -> str:
    if ts in (ExplicitVRLittleEndian, ImplicitVRLittleEndian):
        return ts
    if ts == JPEGBaseline8Bit:
        arr = ds.pixel_array
        im = Image.fromarray(arr)
        buf = io.BytesIO()
        im.save(buf, "JPEG", quality=95)
        ds.PixelData = encapsulate([buf.getvalue()])
        ds["PixelData"].VR = "OB"
        if ds.SamplesPerPixel == 3:
            ds.PhotometricInterpretation = "YBR_FULL_422"
        ds.LossyImageCompression = "01"
        ds.file_meta.TransferSyntaxUID = ts
        return ts
    try:
        ds.compress(ts, generate_instance_uid=False)
        return ts
    except Exception:
        try:
            ds.compress(RLELossless, generate_instance_uid=False)
            return RLELossless
        except Exception:
            return ExplicitVRLittleEndian


def _one(r: random.Random, p: _Patient, fname: str, modality: str, series_no: int, inst: int) -> tuple[Dataset, _Ctx]:
    c = _Ctx(fname, p, r)
    ds = Dataset()
    sop_uid = _uid(r)
    ds.SOPClassUID = SOP[modality]
    ds.SOPInstanceUID = sop_uid
    c.add("SOPInstanceUID", "UID", sop_uid)
    ds.StudyInstanceUID = p.study_uid
    c.add("StudyInstanceUID", "UID", p.study_uid)
    ds.SeriesInstanceUID = _uid(r)
    c.add("SeriesInstanceUID", "UID", ds.SeriesInstanceUID)
    ds.Modality = "US" if modality == "USMF" else modality
    ds.SpecificCharacterSet = "ISO_IR 100"
    # --- standard identifying attributes
    pn = f"{p.surname.upper()}^{p.given.upper()}^{p.middle}"
    ds.PatientName = pn; c.add("PatientName", "NAME", pn, [p.surname])
    ds.PatientID = p.mrn; c.add("PatientID", "MRN", p.mrn)
    ds.PatientBirthDate = p.dob.strftime("%Y%m%d"); c.add("PatientBirthDate", "DATE", ds.PatientBirthDate, date_variants(p.dob))
    ds.PatientSex = r.choice("MF")
    ds.PatientAge = f"{p.age:03d}Y"
    if p.age > 89:
        c.add("PatientAge", "AGE_OVER_89", ds.PatientAge, [ds.PatientAge])
    ds.StudyDate = p.study_date.strftime("%Y%m%d"); c.add("StudyDate", "DATE", ds.StudyDate, [ds.StudyDate])
    ds.StudyTime = "101500"
    ds.SeriesDate = ds.StudyDate; ds.ContentDate = ds.StudyDate
    ds.AccessionNumber = p.accession; c.add("AccessionNumber", "ACCESSION", p.accession)
    s, g = p.doctor
    ds.ReferringPhysicianName = f"{s}^{g}"; c.add("ReferringPhysicianName", "NAME", str(ds.ReferringPhysicianName), [s])
    ds.InstitutionName = p.institution; c.add("InstitutionName", "INSTITUTION", p.institution, [p.institution])
    ds.StudyID = str(r.randint(1000, 99999))
    ds.SeriesNumber = series_no; ds.InstanceNumber = inst
    ds.Manufacturer = r.choice(["GE MEDICAL SYSTEMS", "SIEMENS", "Philips", "TOSHIBA"])
    if r.random() < 0.6:
        ds.DeviceSerialNumber = p.serial; c.add("DeviceSerialNumber", "DEVICE_SERIAL", p.serial)
    if r.random() < 0.5:
        addr = f"{p.street}, {p.unit}, {p.city}, {p.state} {p.zip}"
        ds.PatientAddress = addr; c.add("PatientAddress", "ADDRESS", addr, [p.street])
    if r.random() < 0.5:
        ds.PatientTelephoneNumbers = p.phone; c.add("PatientTelephoneNumbers", "PHONE", p.phone, [p.phone, p.phone_digits])
    if r.random() < 0.3:
        ds.OtherPatientNames = f"{p.surname.upper()}^{r.choice(GIVEN).upper()}"; c.add("OtherPatientNames", "NAME", str(ds.OtherPatientNames), [p.surname])
    if r.random() < 0.3:
        ds.OperatorsName = f"{r.choice(DOC_SURNAMES)}^{r.choice(GIVEN)}"
        c.add("OperatorsName", "NAME", str(ds.OperatorsName), [str(ds.OperatorsName).split("^")[0]])
    # --- free text in description / comment attributes
    text_attrs = ["PatientComments", "AdditionalPatientHistory", "ImageComments", "StudyDescription",
                  "SeriesDescription", "RequestedProcedureDescription", "ReasonForTheRequestedProcedure",
                  "DerivationDescription", "AcquisitionComments", "InstitutionAddress"]
    for attr in r.sample(text_attrs, r.randint(3, 6)):
        if attr == "InstitutionAddress":
            v = f"{r.randint(10, 999)} {r.choice(STREETS)}, {p.unit}, {p.city}, {p.state} {p.zip}"
            ds.InstitutionAddress = v
            c.add(attr, "ADDRESS", v, [v.split(",")[0]])
            continue
        txt = _free_text(c, attr)
        if attr in ("StudyDescription", "SeriesDescription", "RequestedProcedureDescription"):
            txt = r.choice(["CT CHEST W/O ", "MR BRAIN ", "XR CHEST 2V ", "US ABD "]) + txt
            txt = txt[:64]
            # re-check planted values that got truncated
            for pl in c.planted:
                if pl.tag_path == attr and pl.value not in txt:
                    pl.tag_path += "(truncated-away)"
        setattr(ds, attr, txt)
    c.planted = [pl for pl in c.planted if not pl.tag_path.endswith("(truncated-away)")]
    # --- nested sequences
    if r.random() < 0.7:
        ra = Dataset()
        ra.RequestedProcedureID = p.accession
        c.add("RequestAttributesSequence[0].RequestedProcedureID", "ACCESSION", p.accession)
        ra.ScheduledProcedureStepDescription = _free_text(c, "RequestAttributesSequence[0].ScheduledProcedureStepDescription")[:64]
        c.planted = [pl for pl in c.planted if not (pl.tag_path.startswith("RequestAttributesSequence[0].Sched") and pl.value not in ra.ScheduledProcedureStepDescription)]
        ra.ReasonForTheRequestedProcedure = _free_text(c, "RequestAttributesSequence[0].ReasonForTheRequestedProcedure")
        ds.RequestAttributesSequence = Sequence([ra])
    if r.random() < 0.6:
        rs = Dataset(); rs.ReferencedSOPClassUID = "1.2.840.10008.3.1.2.3.1"
        rs.ReferencedSOPInstanceUID = _uid(r)
        c.add("ReferencedStudySequence[0].ReferencedSOPInstanceUID", "UID", rs.ReferencedSOPInstanceUID)
        ds.ReferencedStudySequence = Sequence([rs])
    if r.random() < 0.6:
        op = Dataset(); op.PatientID = p.other_id; op.TypeOfPatientID = "TEXT"; op.IssuerOfPatientID = p.institution
        c.add("OtherPatientIDsSequence[0].PatientID", "OTHER_ID", p.other_id)
        op2 = Dataset(); op2.PatientID = p.ssn; op2.TypeOfPatientID = "TEXT"; op2.IssuerOfPatientID = "SSA"
        c.add("OtherPatientIDsSequence[1].PatientID", "SSN", p.ssn)
        ds.OtherPatientIDsSequence = Sequence([op, op2])
    if r.random() < 0.6:
        _private(ds, c)
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    # --- pixels or SR content
    if modality == "SR":
        _sr_content(c, ds)
        ts = r.choice([ExplicitVRLittleEndian, ImplicitVRLittleEndian])
    else:
        ts = _encode(ds, _image(ds, c, "US" if modality in ("US", "USMF") else modality))
    if modality == "SC":
        ds.ConversionType = "WSD"
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = ds.SOPClassUID
    meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    meta.TransferSyntaxUID = ts
    meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
    if r.random() < 0.3:
        meta.SourceApplicationEntityTitle = p.surname.upper()[:16].replace(" ", "")
        c.add("FileMeta.SourceApplicationEntityTitle", "NAME", meta.SourceApplicationEntityTitle, [meta.SourceApplicationEntityTitle])
    ds.file_meta = meta
    return ds, c


def generate(seed: int, out_dir: Path, n: int) -> list[Planted]:
    r = random.Random(seed)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    planted: list[Planted] = []
    i, pidx = 0, 0
    modalities = ["CT", "MR", "CR", "US", "USMF", "SC", "SR"]
    while i < n:
        p = _Patient(r, pidx); pidx += 1
        k = min(n - i, r.randint(1, 4))
        for j in range(k):
            mod = r.choice(modalities)
            style = r.randrange(5)
            if style == 0:
                fname = f"{p.surname.replace(' ', '_').replace(chr(39), '')}_{p.given}_{_digits(p.mrn) or p.mrn}_{j}.dcm"
            elif style == 1:
                fname = f"IMG{i:05d}"
            else:
                fname = f"{mod}_{i:05d}.dcm"
            ds, c = _one(r, p, fname, mod, series_no=j + 1, inst=j + 1)
            if style == 0:
                c.add("<filename>", "NAME", fname, [p.surname.replace(' ', '_').replace(chr(39), '')])
                c.add("<filename>", "MRN", fname, [_digits(p.mrn) or p.mrn])
            ds.save_as(out_dir / fname, enforce_file_format=True)
            planted.extend(c.planted)
            i += 1
    return planted


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, required=True)
    ap.add_argument("-n", type=int, default=150)
    ap.add_argument("-o", "--out", type=Path, required=True)
    a = ap.parse_args(argv)
    pl = generate(a.seed, a.out, a.n)
    (a.out.parent / (a.out.name + ".planted.json")).write_text(json.dumps([dataclasses.asdict(x) for x in pl], indent=1))
    from collections import Counter
    print(len(pl), "planted;", dict(Counter(x.kind for x in pl)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
