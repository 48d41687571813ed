"""A second held-out synthetic DICOM corpus with planted PHI, in styles the project's own generators do not use.

Provenance: every name, number, date, address and pixel here is SYNTHETIC: names are built from
syllables by ``random.Random(seed)`` (no name list), towns and streets too; phone numbers use random
digits in other countries' layouts. Written before its author read ``deid/`` (only the design notes,
``--help`` and PS3.15 Annex E), so it does not mirror the detector: do not tune it to the tool.

What is planted (one ``Planted`` per value, with the ``where`` category it tests):
other countries' name orders and scripts (family name first in capitals, double Hispanic surnames,
particles, apostrophes, Cyrillic / Han / Hangul / Greek script), nicknames in lower case in free
text ("pt seen by dr. vantreml"), dates in other formats ("3rd of March 2019", "03.03.19",
"2019-W10"), identifiers of other shapes, foreign phone numbers and addresses, e-mails, ages over
89; in PN tags, descriptors (SeriesDescription, ProtocolName, ImageComments...), SR content at
depth 3 and more, private tags with and without a creator, sequences of sequences, overlay planes
and their labels, graphic annotations, an icon image, and burned-in pixel text drawn small, large,
rotated, inverted or at low contrast.

``generate(seed, out_dir, n) -> list[Planted]`` is deterministic for ``(seed, n)``.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

__all__ = ["Planted", "generate", "WHERE"]

WHERE = ("pn_header", "id_header", "descriptor", "sr_deep", "private_creator", "private_orphan",
         "nested_seq", "code_meaning", "overlay", "graphic", "burned_in", "icon")

_SOP = {"CT": "1.2.840.10008.5.1.4.1.1.2", "MR": "1.2.840.10008.5.1.4.1.1.4",
        "SC": "1.2.840.10008.5.1.4.1.1.7", "SR": "1.2.840.10008.5.1.4.1.1.88.22"}
_ONSET = ["br", "d", "gr", "k", "l", "m", "n", "p", "qu", "r", "s", "t", "v", "z", "th", "ch", "sk", "dr"]
_NUC = ["a", "e", "i", "o", "u", "ae", "io", "ou", "ei"]
_CODA = ["", "n", "r", "l", "s", "nd", "rt", "x", "m", "k"]
_VIET_FAM = ["Truong", "Quach", "Diep", "Luu", "Khuc", "Ung"]  # uncommon Vietnamese-style family syllables
_VIET_GIV = ["Thi", "Van", "Huu", "Duc"]
_MON_EN = ["January", "February", "March", "April", "May", "June", "July", "August", "September",
           "October", "November", "December"]
_MON_DE = ["Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August", "September",
           "Oktober", "November", "Dezember"]
_MON_FR = ["janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre",
           "octobre", "novembre", "décembre"]
_ROMAN = ["I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI", "XII"]
_CYR = "бвгдзклмнпрстф"
_CYR_V = "аеиоуя"
_HAN = "梓翊雯瑾琛璐舜曦岚珂"
_HANGUL = "서윤도훈채린하준"
_GREEK = ["Παπα", "Σταυ", "Κων", "Λεμ", "Θεο"]
_FONTS = ["DejaVuSerif.ttf", "DejaVuSansCondensed.ttf", "DejaVuSerif-Bold.ttf", "DejaVuSansMono-Oblique.ttf"]


@dataclass
class Planted:
    """One planted value: where it went, its kind, and the strings whose presence means it survived."""

    file: str
    where: str
    path: str
    kind: str
    value: str
    needles: list[str] = field(default_factory=list)
    stroke: np.ndarray | None = None  # burned-in/overlay/icon: the drawn pixels


def _syl(r: random.Random, n: int) -> str:
    return "".join(r.choice(_ONSET) + r.choice(_NUC) + r.choice(_CODA) for _ in range(n))


class _Person:
    """A synthetic person whose name is written in one of several conventions."""

    def __init__(self, r: random.Random) -> None:
        self.style = r.choice(["viet", "hisp", "particle", "apos", "hyphen", "cyr", "han", "hangul", "greek", "plain"])
        self.family = _syl(r, 2).capitalize()
        self.given = _syl(r, r.choice([1, 2])).capitalize()
        second = _syl(r, 2).capitalize()
        if self.style == "viet":
            self.family = r.choice(_VIET_FAM) + _syl(r, 1)
            self.given = f"{r.choice(_VIET_GIV)} {_syl(r, 1).capitalize()}"
        elif self.style == "hisp":
            self.family = f"{self.family} {second}"
        elif self.style == "particle":
            self.family = f"{r.choice(['van der', 'de la', 'von', 'da', 'ter', 'al-'])} {self.family}".replace("al- ", "al-")
        elif self.style == "apos":
            self.family = f"{r.choice(['O', 'D', 'M'])}'{self.family}"
        elif self.style == "hyphen":
            self.family = f"{self.family}-{second}"
        self.script = ""
        if self.style == "cyr":
            self.script = "".join(r.choice(_CYR) + r.choice(_CYR_V) for _ in range(3)).capitalize() + "ко"
        elif self.style == "han":
            self.script = "".join(r.choice(_HAN) for _ in range(3))
        elif self.style == "hangul":
            self.script = "".join(r.choice(_HANGUL) for _ in range(3))
        elif self.style == "greek":
            self.script = r.choice(_GREEK) + "".join(r.choice("δκλνστ") + r.choice("αειου") for _ in range(2)) + "ς"

    def needles(self) -> list[str]:
        """The family name's distinctive parts (particles dropped), and the script form."""
        parts = [p for p in self.family.replace("-", " ").split() if len(p) > 3 and p not in ("van", "der", "von")]
        parts = [p.split("'")[-1] if "'" in p else p for p in parts] + [self.family]
        return sorted(set(parts + ([self.script] if self.script else [])))

    def written(self, r: random.Random) -> str:
        """The name as a clerk or a physician might type it in free text."""
        f, g = self.family, self.given
        if self.script and r.random() < 0.6:
            return self.script
        return r.choice([f"{f.upper()} {g}", f"{g} {f}", f"{f}, {g}", f"{g[0]}. {f}", f"{f.upper()}, {g.upper()}",
                         f"{g.lower()} {f.lower()}"])

    def pn(self) -> str:
        """DICOM PN, with an ideographic group for script names."""
        base = f"{self.family}^{self.given}"
        return f"{base}={self.script}" if self.script else base


def _date_forms(r: random.Random, d: dt.date) -> tuple[str, list[str]]:
    nth = {1: "st", 2: "nd", 3: "rd", 21: "st", 22: "nd", 23: "rd", 31: "st"}.get(d.day, "th")
    iso = d.isocalendar()
    forms = [f"{d.day}{nth} of {_MON_EN[d.month - 1]} {d.year}", d.strftime("%d.%m.%y"), f"{iso[0]}-W{iso[1]:02d}-{iso[2]}",
             f"{d.day}/{_ROMAN[d.month - 1]}/{d.year}", f"{d.day}. {_MON_DE[d.month - 1]} {d.year}",
             f"le {d.day} {_MON_FR[d.month - 1]} {d.year}", f"{d.year}年{d.month}月{d.day}日",
             f"{_MON_EN[d.month - 1][:3]} {d.day}{nth} '{d.year % 100:02d}", d.strftime("%Y%m%d"),
             f"{d.year}.{d.month:02d}.{d.day:02d}", f"{d.day:02d}{_MON_EN[d.month - 1][:3].upper()}{d.year % 100:02d}"]
    form = r.choice(forms)
    needle = form[3:] if form.startswith("le ") else form
    return form, [needle]


def _id(r: random.Random) -> str:
    d = lambda k: "".join(r.choice("0123456789") for _ in range(k))  # noqa: E731
    return r.choice([f"{d(3)} {d(3)} {d(4)}", f"K-{d(5)}-Z", f"{2000 + r.randint(10, 24)}/{d(6)}", f"HOSP:{d(6)}",
                     f"#{d(8)}", f"PID {d(2)}-{d(7)}/{d(1)}", f"XR{d(2)}-{d(7)}", f"{d(4)}.{d(2)}.{d(6)}",
                     f"ACN {d(4)} {d(4)}", f"{r.choice('QWX')}{d(2)}{r.choice('LMN')}{d(5)}", f"mrn{d(7)}"])


def _id_needles(v: str) -> list[str]:
    digits = "".join(c for c in v if c.isdigit())
    return [v] + ([digits] if len(digits) >= 6 else [])


def _phone(r: random.Random) -> str:
    d = lambda k: "".join(r.choice("0123456789") for _ in range(k))  # noqa: E731
    return r.choice([f"+44 20 7946 0{d(3)}", f"+33 1 {d(2)} {d(2)} {d(2)} {d(2)}", f"030 {d(8)}", f"03-{d(4)}-{d(4)}",
                     f"+91 9{d(4)} {d(5)}", f"(02) {d(4)} {d(4)}", f"+55 11 9{d(4)}-{d(4)}", f"06-{d(8)}",
                     f"0049 (0)89 {d(3)} {d(4)}"])


def _address(r: random.Random) -> tuple[str, list[str]]:
    street, town = _syl(r, 2).capitalize(), _syl(r, 2).capitalize()
    d = lambda k: "".join(r.choice("0123456789") for _ in range(k))  # noqa: E731
    form = r.choice([
        (f"Flat {r.randint(1, 30)}, {r.randint(2, 90)} {street} Close, {town}, {r.choice('BDKS')}{r.choice('LNT')}"
         f"{r.randint(1, 29)} {r.randint(1, 9)}{r.choice('ABDX')}{r.choice('JPQ')}"),
        f"{street}straße {r.randint(1, 140)}, {d(5)} {town}",
        f"{r.randint(2, 88)} bis rue des {street}s, {d(5)} {town}",
        f"〒{d(3)}-{d(4)} {town}-shi {street}-cho {r.randint(1, 9)}-{r.randint(1, 30)}",
        f"Calle {street} {r.randint(3, 200)}, {r.randint(1, 9)}º {r.choice('ABCD')}, {d(5)} {town}",
        f"{street}weg {r.randint(1, 70)}, {d(4)} {r.choice('ABCDEFGH')}{r.choice('JKLMNP')} {town}",
    ])
    return form, [street, town]


def _email(r: random.Random, p: _Person) -> str:
    local = r.choice([f"{p.given.split()[0].lower()}.{p.family.split()[-1].lower()}", f"{p.family.split()[-1].lower()}{r.randint(1, 99)}"])
    local = local.replace("'", "")
    return r.choice([f"{local}@{_syl(r, 2)}.example.de", f"{local}@post.{_syl(r, 1)}.jp", f"{local} [at] {_syl(r, 2)} [dot] fr"])


class _Ctx:
    """Collects one file's planted values."""

    def __init__(self, fname: str, r: random.Random, patient: _Person) -> None:
        self.fname, self.r, self.p = fname, r, patient
        self.planted: list[Planted] = []

    def add(self, where: str, path: str, kind: str, value: str, needles: list[str]) -> str:
        self.planted.append(Planted(self.fname, where, path, kind, value, needles))
        return value

    def phrase(self, where: str, path: str) -> str:
        """One free-text phrase carrying one or two planted values of different kinds."""
        r, p = self.r, self.p
        other = _Person(r)
        date, dneedles = _date_forms(r, dt.date(r.randint(1931, 2023), r.randint(1, 12), r.randint(1, 28)))
        ident, phone = _id(r), _phone(r)
        addr, aneedles = _address(r)
        age = r.randint(90, 104)
        age_text = r.choice([f"aged {age}", f"{age} J.", f"{age}yo", f"{age}-yr-old", f"âge {age} ans", f"{age} y.o."])
        nick = other.family.split()[-1].replace("'", "").lower()
        nick_needles = sorted({nick, *(w for w in nick.split("-") if len(w) > 3)})
        email = _email(r, p)
        choices = [
            ("NAME", f"pt seen by dr. {nick} on ward", nick, nick_needles),
            ("NAME", f"informed daughter {other.written(r)} by phone", None, other.needles()),
            ("NAME", f"{p.written(r)} - follow-up", None, p.needles()),
            ("NAME", f"discussed w/ {nick} (radiology registrar)", nick, nick_needles),
            ("DATE", f"prior exam {date}", date, dneedles),
            ("DATE", f"DOB {date}", date, dneedles),
            ("ID", f"ref {ident}", ident, _id_needles(ident)),
            ("ID", f"prev. acc. no. {ident}", ident, _id_needles(ident)),
            ("PHONE", f"call back {phone}", phone, [phone]),
            ("ADDRESS", f"lives at {addr}", addr, aneedles),
            ("EMAIL", f"report to {email}", email, [email]),
            ("AGE", f"{age_text}, frail", age_text, [age_text]),
        ]
        kind, text, value, needles = r.choice(choices)
        self.add(where, path, kind, value or text, needles)
        return text


def _code(value: str, meaning: str) -> Sequence:
    c = Dataset()
    c.CodeValue, c.CodingSchemeDesignator, c.CodeMeaning = value, "99SYN", meaning
    return Sequence([c])


def _sr_tree(c: _Ctx, ds: Dataset, depth: int) -> None:
    """A container tree with PHI-bearing items at depth 3 and more."""
    r = c.r

    def item(vt: str, path: str) -> Dataset:
        it = Dataset()
        it.RelationshipType, it.ValueType = r.choice(["CONTAINS", "HAS OBS CONTEXT", "INFERRED FROM"]), vt
        it.ConceptNameCodeSequence = _code(str(r.randint(100000, 999999)), r.choice(["Comment", "Observer", "Note"]))
        if vt == "TEXT":
            it.TextValue = c.phrase("sr_deep", path + ".TextValue")
        elif vt == "PNAME":
            person = _Person(r)
            it.PersonName = c.add("sr_deep", path + ".PersonName", "NAME", person.pn(), person.needles())
        elif vt == "DATETIME":
            when = f"{r.randint(1990, 2022)}{r.randint(1, 12):02d}{r.randint(1, 28):02d}{r.randint(0, 23):02d}{r.randint(0, 59):02d}"
            it.DateTime = c.add("sr_deep", path + ".DateTime", "DATE", when, [when[:8]])
        elif vt == "CODE":
            person = _Person(r)
            written = person.written(r)
            it.ConceptCodeSequence = _code("SYN" + str(r.randint(10, 99)), f"Protocol of Dr {written}")
            c.add("sr_deep", path + ".ConceptCodeSequence[0].CodeMeaning", "NAME", written, person.needles())
        return it

    def container(level: int, path: str) -> Dataset:
        box = Dataset()
        box.RelationshipType, box.ValueType, box.ContinuityOfContent = "CONTAINS", "CONTAINER", "SEPARATE"
        box.ConceptNameCodeSequence = _code("SYN01", "Section")
        children = []
        if level < depth:
            children.append(container(level + 1, f"{path}.ContentSequence[0]"))
        else:
            for k, vt in enumerate(r.sample(["TEXT", "PNAME", "DATETIME", "CODE", "TEXT"], 3)):
                children.append(item(vt, f"{path}.ContentSequence[{len(children)}]"))
        box.ContentSequence = Sequence(children)
        return box

    ds.ValueType, ds.ContinuityOfContent = "CONTAINER", "SEPARATE"
    ds.ConceptNameCodeSequence = _code("SYN00", "Imaging report")
    ds.ContentSequence = Sequence([container(2, "ContentSequence[0]")])


def _private(c: _Ctx, ds: Dataset) -> None:
    r = c.r
    block = ds.private_block(0x0041, f"SYNTH{_syl(r, 1).upper()} REMARKS", create=True)
    block.add_new(0x10, "LT", c.phrase("private_creator", "(0041,1010)"))
    block.add_new(0x11, "PN", c.add("private_creator", "(0041,1011)", "NAME", c.p.pn(), c.p.needles()))
    inner = Dataset()
    inner.add_new(0x00410010, "LO", "SYNTHNESTED")
    inner.add_new(0x00411001, "ST", c.phrase("private_creator", "(0041,1012)[0].(0041,1001)"))
    block.add_new(0x12, "SQ", Sequence([inner]))
    ds.add_new(0x00451021, "LT", c.phrase("private_orphan", "(0045,1021)"))
    ds.add_new(0x004510F0, "UN", c.phrase("private_orphan", "(0045,10F0)").encode("utf-8"))


def _nested(c: _Ctx, ds: Dataset) -> None:
    """Sequences of sequences: original attributes, a scheduled step's performer, code meanings."""
    r = c.r
    mod = Dataset()
    other = _Person(r)
    mod.PatientName = c.add("nested_seq", "OriginalAttributesSequence[0].ModifiedAttributesSequence[0].PatientName",
                            "NAME", other.pn(), other.needles())
    mod.PatientID = c.add("nested_seq", "OriginalAttributesSequence[0].ModifiedAttributesSequence[0].PatientID",
                          "ID", (v := _id(r)), _id_needles(v))
    orig = Dataset()
    orig.ModifiedAttributesSequence = Sequence([mod])
    orig.ModifyingSystem, orig.ReasonForTheAttributeModification = "SYNTHPACS", "CORRECT"
    orig.SourceOfPreviousValues = c.add("nested_seq", "OriginalAttributesSequence[0].SourceOfPreviousValues",
                                        "NAME", other.written(r), other.needles())
    ds.OriginalAttributesSequence = Sequence([orig])
    req = Dataset()
    step = Dataset()
    doc = _Person(r)
    step.ScheduledPerformingPhysicianName = c.add(
        "nested_seq", "RequestAttributesSequence[0].ScheduledProtocolCodeSequence[0].ScheduledPerformingPhysicianName",
        "NAME", doc.pn(), doc.needles())
    step.CodeValue, step.CodingSchemeDesignator = "SYN7", "99SYN"
    step.CodeMeaning = c.phrase("code_meaning", "RequestAttributesSequence[0].ScheduledProtocolCodeSequence[0].CodeMeaning")
    req.ScheduledProtocolCodeSequence = Sequence([step])
    req.RequestedProcedureID = c.add("nested_seq", "RequestAttributesSequence[0].RequestedProcedureID", "ID",
                                     (v := _id(r)), _id_needles(v))
    ds.RequestAttributesSequence = Sequence([req])
    region = Dataset()
    region.CodeValue, region.CodingSchemeDesignator = "T-D3000", "SRT"
    region.CodeMeaning = c.phrase("code_meaning", "AnatomicRegionSequence[0].CodeMeaning")
    ds.AnatomicRegionSequence = Sequence([region])


def _header(c: _Ctx, ds: Dataset, modality: str) -> None:
    r, p = c.r, c.p
    ds.SpecificCharacterSet = "ISO_IR 192"
    ds.PatientName = c.add("pn_header", "PatientName", "NAME", p.pn(), p.needles())
    ds.PatientID = c.add("id_header", "PatientID", "ID", (v := _id(r)), _id_needles(v))
    ds.AccessionNumber = c.add("id_header", "AccessionNumber", "ID", (v := _id(r))[:16], _id_needles(v[:16]))
    other = _Person(r)
    ds.OtherPatientNames = c.add("pn_header", "OtherPatientNames", "NAME", other.pn(), other.needles())
    doc = _Person(r)
    ds.ReferringPhysicianName = c.add("pn_header", "ReferringPhysicianName", "NAME", doc.pn(), doc.needles())
    mother = _Person(r)
    ds.PatientMotherBirthName = c.add("pn_header", "PatientMotherBirthName", "NAME", mother.pn(), mother.needles())
    age = r.randint(91, 109)  # 90 is the cap itself
    ds.PatientAge = c.add("id_header", "PatientAge", "AGE", f"{age:03d}Y", [f"{age:03d}Y"])
    ds.PatientBirthDate = f"{2024 - age}0{r.randint(1, 9)}1{r.randint(0, 9)}"
    ds.PatientSex = r.choice("MFO")
    ds.StudyDate = ds.SeriesDate = f"20{r.randint(10, 23)}0{r.randint(1, 9)}{r.randint(10, 28)}"
    ds.Modality = modality
    for kw in ["SeriesDescription", "ProtocolName", "ImageComments", "StudyDescription", "PerformedProcedureStepDescription",
               "AdditionalPatientHistory", "PatientComments"]:
        text = c.phrase("descriptor", kw)
        setattr(ds, kw, text[:64] if kw in ("SeriesDescription", "ProtocolName", "StudyDescription", "PerformedProcedureStepDescription") else text)


def _font(r: random.Random, size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    try:
        return ImageFont.truetype(f"/usr/share/fonts/truetype/dejavu/{r.choice(_FONTS)}", size)
    except OSError:
        return ImageFont.load_default()


def _text_mask(r: random.Random, w: int, h: int, text: str, size: int, angle: int) -> np.ndarray:
    """The pixels a line of text covers, drawn at a random place, size and angle."""
    img = Image.new("L", (w * 2, h * 2), 0)
    ImageDraw.Draw(img).text((4, 4), text, fill=255, font=_font(r, size))
    bbox = img.getbbox() or (0, 0, 1, 1)
    img = img.crop(bbox).rotate(angle, expand=True)
    tw, th = min(img.width, w - 2), min(img.height, h - 2)
    img = img.crop((0, 0, tw, th))
    x, y = r.randint(1, w - tw - 1), r.randint(1, h - th - 1)
    canvas = Image.new("L", (w, h), 0)
    canvas.paste(img, (x, y))
    return np.asarray(canvas) > 110


def _pixels(c: _Ctx, ds: Dataset, modality: str) -> None:
    """A monochrome image with burned-in lines of text; an overlay plane; an icon; graphic annotations."""
    r, p = c.r, c.p
    w = h = r.choice([192, 256])
    yy, xx = np.mgrid[0:h, 0:w]
    body = np.exp(-(((xx - w / 2) ** 2 + (yy - h / 2) ** 2) / (2 * (w / 3.5) ** 2)))
    img = (body * 900 + np.random.default_rng(r.randint(0, 2**31)).normal(200, 30, (h, w))).clip(0, 4095)
    lines = [("NAME", p.written(r), p.needles()), ("ID", (v := _id(r)), _id_needles(v)),
             ("DATE", *_date_forms(r, dt.date(r.randint(1990, 2023), r.randint(1, 12), r.randint(1, 28))))]
    for kind, text, needles in r.sample(lines, 2):
        style = r.choice(["small", "large", "rotated", "inverted", "lowcontrast", "plain"])
        size = {"small": 9, "large": 30}.get(style, 14)
        stroke = _text_mask(r, w, h, text, size, r.choice([90, 270, 15]) if style == "rotated" else 0)
        if style == "inverted":
            ys, xs = np.nonzero(stroke)
            img[ys.min():ys.max() + 1, xs.min():xs.max() + 1] = 4000
            img[stroke] = 0
        else:
            img[stroke] = {"lowcontrast": float(np.median(img)) + 250}.get(style, 4095)
        c.planted.append(Planted(c.fname, "burned_in", f"PixelData[{style}]", kind, text, needles, stroke))
    if r.random() < 0.5:
        ds.BurnedInAnnotation = "NO"
    ds.Rows, ds.Columns, ds.SamplesPerPixel, ds.PhotometricInterpretation = h, w, 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    ds.PixelData = img.astype(np.uint16).tobytes()
    if modality in ("CT", "MR"):
        ds.RescaleIntercept, ds.RescaleSlope, ds.WindowCenter, ds.WindowWidth = -1024 if modality == "CT" else 0, 1, 600, 1800
    text = p.written(r)
    stroke = _text_mask(r, w, h, text, 16, 0)
    ds.add_new(0x60000010, "US", h)
    ds.add_new(0x60000011, "US", w)
    ds.add_new(0x60000040, "CS", "G")
    ds.add_new(0x60000050, "SS", [1, 1])
    ds.add_new(0x60000100, "US", 1)
    ds.add_new(0x60000102, "US", 0)
    ds.add_new(0x60003000, "OW", np.packbits(stroke.ravel(), bitorder="little").tobytes())
    c.planted.append(Planted(c.fname, "overlay", "(6000,3000)", "NAME", text, p.needles(), stroke))
    ds.add_new(0x60000022, "LO", c.phrase("overlay", "(6000,0022)"))
    ds.add_new(0x60001500, "LO", c.add("overlay", "(6000,1500)", "NAME", p.written(r), p.needles()))
    icon = Dataset()
    iw = 64
    stroke = _text_mask(r, iw, iw, p.family.split()[-1].upper()[:8], 12, 0)
    icon.Rows, icon.Columns, icon.SamplesPerPixel, icon.PhotometricInterpretation = iw, iw, 1, "MONOCHROME2"
    icon.BitsAllocated, icon.BitsStored, icon.HighBit, icon.PixelRepresentation = 8, 8, 7, 0
    icon.PixelData = np.where(stroke, 255, 40).astype(np.uint8).tobytes()
    ds.IconImageSequence = Sequence([icon])
    c.planted.append(Planted(c.fname, "icon", "IconImageSequence[0].PixelData", "NAME", p.family, p.needles(), stroke))
    ann = Dataset()
    ann.GraphicLayer = "SYNTH"
    obj = Dataset()
    obj.UnformattedTextValue = c.phrase("graphic", "GraphicAnnotationSequence[0].TextObjectSequence[0].UnformattedTextValue")
    obj.AnchorPointAnnotationUnits, obj.AnchorPoint, obj.AnchorPointVisibility = "PIXEL", [10.0, 10.0], "N"
    ann.TextObjectSequence = Sequence([obj])
    ds.GraphicAnnotationSequence = Sequence([ann])


def _one(r: random.Random, fname: str, patient: _Person, modality: str, study: str) -> tuple[Dataset, list[Planted]]:
    c = _Ctx(fname, r, patient)
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.SOPClassUID = _SOP[modality]
    ds.SOPInstanceUID = generate_uid(entropy_srcs=[fname, str(r.random())])
    ds.file_meta.MediaStorageSOPClassUID, ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPClassUID, ds.SOPInstanceUID
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.StudyInstanceUID, ds.SeriesInstanceUID = study, generate_uid(entropy_srcs=[fname, "series"])
    _header(c, ds, modality)
    _private(c, ds)
    _nested(c, ds)
    if modality == "SR":
        _sr_tree(c, ds, r.randint(3, 5))
    else:
        _pixels(c, ds, modality)
    return ds, c.planted


def generate(seed: int, out_dir: Path, n: int) -> list[Planted]:
    """Write ``n`` files (about one in four an SR) under ``out_dir`` and return every planted value."""
    r = random.Random(seed)
    out_dir.mkdir(parents=True, exist_ok=True)
    planted: list[Planted] = []
    patient, study = _Person(r), generate_uid(entropy_srcs=[str(seed), "0"])
    for i in range(n):
        if i % 3 == 0:
            patient, study = _Person(r), generate_uid(entropy_srcs=[str(seed), str(i)])
        modality = "SR" if i % 4 == 3 else r.choice(["CT", "MR", "SC"])
        fname = f"syn{seed}_{i:05d}.dcm"
        ds, found = _one(r, fname, patient, modality, study)
        ds.save_as(out_dir / fname, enforce_file_format=True)
        planted.extend(found)
    return planted
