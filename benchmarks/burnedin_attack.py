"""Adversarial burned-in text for the pixel text search: synthetic DICOM images in the styles devices use.

Written apart from the detector (deid/pixels) and its own generators (tests/deid_pixels, tests/deid_heldout),
so that it measures what the detector meets outside its author's habits: fonts other than Liberation, 7-9 px
and large text, condensed and serif faces, boxes, outlines, shadows, aliased glyphs, rotations, tilts,
perspective, lossy compression, text over anatomy, dot-matrix glyphs, ultrasound overlays, MONOCHROME1,
8/12/16 bits with and without a rescale. Clean images with rulers, grids, calipers and L/R markers measure
false positives. All names, dates and ids are made up.

Each planted line of text is recorded as its stroke mask (pixels the glyphs cover at half opacity or more),
so a scorer can ask whether those pixels survived the cleaner.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pydicom
from numpy.typing import NDArray
from PIL import Image, ImageDraw, ImageFilter, ImageFont
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.pixels.processing import convert_color_space
from pydicom.uid import UID, ExplicitVRLittleEndian, generate_uid

DEJAVU = "/usr/share/fonts/truetype/dejavu/"
URW = "/usr/share/fonts/opentype/urw-base35/"
NOTO = "/usr/share/fonts/truetype/noto/"
FONTS = {
    "sans": [DEJAVU + "DejaVuSans.ttf", URW + "NimbusSans-Regular.otf", URW + "URWGothic-Book.otf"],
    "bold": [DEJAVU + "DejaVuSans-Bold.ttf", URW + "NimbusSans-Bold.otf", DEJAVU + "DejaVuSansMono-Bold.ttf",
             NOTO + "NotoSansMono-Bold.ttf", URW + "URWGothic-Demi.otf"],
    "condensed": [DEJAVU + "DejaVuSansCondensed.ttf", DEJAVU + "DejaVuSansCondensed-Bold.ttf",
                  URW + "NimbusSansNarrow-Regular.otf", URW + "NimbusSansNarrow-Bold.otf",
                  DEJAVU + "DejaVuSerifCondensed.ttf"],
    "serif": [URW + "C059-Roman.otf", URW + "P052-Roman.otf", URW + "NimbusRoman-Regular.otf",
              DEJAVU + "DejaVuSerif.ttf", URW + "URWBookman-Light.otf", URW + "NimbusRoman-Italic.otf"],
    "mono": [URW + "NimbusMonoPS-Regular.otf", URW + "NimbusMonoPS-Bold.otf", NOTO + "NotoSansMono-Regular.ttf",
             NOTO + "NotoMono-Regular.ttf", DEJAVU + "DejaVuSansMono.ttf"],
    "droid": ["/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf"],
    "italic": [DEJAVU + "DejaVuSans-Oblique.ttf", URW + "NimbusSans-Italic.otf", URW + "C059-Italic.otf"],
}
ALL_FACES = [f for faces in FONTS.values() for f in faces]
SYLLABLES = ["var", "nok", "eli", "stra", "qu", "or", "vex", "tal", "inde", "mor", "dun", "ka", "zel", "bri",
             "ost", "ha", "lun", "per", "vig", "ane", "rud", "sol", "tem", "ix", "ja", "wen", "dro", "fal"]
CJK_FAMILY = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
CJK_GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平"
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
CM_TICKS = 10  # px between ruler ticks


@dataclass
class Person:
    """A made-up patient: what a device copies from the worklist into the header and onto the pixels."""

    family: str
    given: str
    pid: str
    birth: tuple[int, int, int]
    study: tuple[int, int, int]
    accession: str
    institution: str

    def lines(self, rng: np.random.Generator) -> list[str]:
        y, m, d = self.birth
        sy, sm, sd = self.study
        birth = [f"{d:02d}-{MONTHS[m - 1]}-{y}", f"{y}/{m:02d}/{d:02d}", f"{m:02d}/{d:02d}/{y}", f"{d:02d}.{m:02d}.{y}"]
        name = [f"{self.family.upper()}^{self.given.upper()}", f"{self.family.upper()}, {self.given}",
                f"{self.given} {self.family}", f"{self.family.upper()} {self.given.upper()}"]
        out = [str(rng.choice(name)), f"ID: {self.pid}", f"DOB: {rng.choice(birth)}",
               f"{sd:02d} {MONTHS[sm - 1]} {sy} {int(rng.integers(7, 19)):02d}:{int(rng.integers(0, 60)):02d}",
               f"Acc {self.accession}", self.institution]
        keep = int(rng.integers(2, 5))
        return out[:keep]


def make_person(rng: np.random.Generator) -> Person:
    def word(n: int) -> str:
        return "".join(str(rng.choice(SYLLABLES)) for _ in range(n)).capitalize()

    letters = "ABCDEFGHJKLMNPQRSTUVWXYZ"
    pid = "".join(str(rng.choice(list(letters))) for _ in range(2)) + str(int(rng.integers(1_000_000, 9_999_999)))
    return Person(word(int(rng.integers(2, 4))), word(2), pid,
                  (int(rng.integers(1931, 2005)), int(rng.integers(1, 13)), int(rng.integers(1, 29))),
                  (int(rng.integers(2015, 2026)), int(rng.integers(1, 13)), int(rng.integers(1, 29))),
                  str(int(rng.integers(10_000_000, 99_999_999))), f"{word(2)} {rng.choice(['Clinic', 'Hospital', 'Imaging'])}")


@dataclass
class Frame:
    """A grey or RGB image in display terms (0..1, 1 = white as shown), and how to store it."""

    modality: str
    display: NDArray[np.float64]  # (rows, cols) or (rows, cols, 3)
    bits: int = 12
    mono1: bool = False
    signed: bool = False
    rescale: tuple[float, float] | None = None  # slope, intercept
    window: tuple[float, float] | None = None  # centre, width (in rescaled units)
    ybr: bool = False


@dataclass
class Case:
    """One generated file: its category, and the stroke mask of each planted line (empty for a clean image)."""

    name: str
    category: str
    modality: str
    lines: list[NDArray[np.bool_]] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)


# --- anatomy-like backgrounds -------------------------------------------------------------------------------

def _blur_noise(rng: np.random.Generator, shape: tuple[int, int], radius: float) -> NDArray[np.float64]:
    img = Image.fromarray((rng.random(shape) * 255).astype(np.uint8))
    a = np.asarray(img.filter(ImageFilter.GaussianBlur(radius)), dtype=np.float64) / 255
    out: NDArray[np.float64] = (a - a.mean()) / (a.std() + 1e-9)
    return out


def _ellipse(shape: tuple[int, int], cy: float, cx: float, ry: float, rx: float) -> NDArray[np.bool_]:
    yy, xx = np.mgrid[: shape[0], : shape[1]]
    inside: NDArray[np.bool_] = ((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 <= 1
    return inside


def anatomy(rng: np.random.Generator, shape: tuple[int, int], kind: str, gain: float = 1.0) -> NDArray[np.float64]:
    """Display intensities 0..1: a body with organs and texture on dark air (CT/MR), or a chest-like radiograph
    (its brightest 1-3 % clipped, as over-exposure does, unless `gain` keeps it below 1)."""
    h, w = shape
    tex = 0.06 * _blur_noise(rng, shape, 1.2) + 0.05 * _blur_noise(rng, shape, 4) + 0.015 * rng.standard_normal(shape)
    if kind == "xray":
        yy, xx = np.mgrid[:h, :w] / max(h, w)
        base = 0.55 + 0.25 * np.cos((xx - 0.5) * 3) - 0.2 * _ellipse(shape, h * 0.5, w * 0.32, h * 0.33, w * 0.15)
        base -= 0.2 * _ellipse(shape, h * 0.5, w * 0.68, h * 0.33, w * 0.15)
        base += 0.07 * (0.5 + 0.5 * np.sin(2 * np.pi * (yy * 7 + 1.5 * (xx - 0.5) ** 2))) ** 3  # ribs
        shown: NDArray[np.float64] = np.clip(gain * (base + tex + 0.1 * yy), 0, 1)
        return shown
    img = np.zeros(shape)
    body = _ellipse(shape, h * 0.52, w * 0.5, h * rng.uniform(0.34, 0.42), w * rng.uniform(0.38, 0.45))
    img[body] = 0.45
    for _ in range(int(rng.integers(3, 7))):
        cy, cx = h * rng.uniform(0.35, 0.7), w * rng.uniform(0.3, 0.7)
        organ = _ellipse(shape, cy, cx, h * rng.uniform(0.04, 0.12), w * rng.uniform(0.04, 0.14)) & body
        img[organ] = rng.uniform(0.3, 0.85)
    spine = _ellipse(shape, h * 0.78, w * 0.5, h * 0.05, w * 0.04) & body
    img[spine] = 0.95
    return np.clip(img + body * tex, 0, 1)


def ultrasound(rng: np.random.Generator, shape: tuple[int, int]) -> NDArray[np.float64]:
    """A sector of speckle on black, grey, as the RGB planes of a US screen."""
    h, w = shape
    yy, xx = np.mgrid[:h, :w].astype(np.float64)
    apex_y, apex_x = h * 0.08, w / 2
    r = np.hypot(yy - apex_y, xx - apex_x)
    ang = np.arctan2(xx - apex_x, yy - apex_y)
    fan = (r < h * 0.85) & (r > h * 0.05) & (np.abs(ang) < 0.75)
    speckle = np.clip(0.35 + 0.25 * _blur_noise(rng, shape, 0.8) + 0.15 * _blur_noise(rng, shape, 6), 0, 1)
    img = np.where(fan, speckle * np.clip(1.2 - r / h, 0.3, 1), 0.0)
    return img


# --- text rendering --------------------------------------------------------------------------------------

def _line_image(text: str, font: ImageFont.FreeTypeFont, antialias: bool) -> Image.Image:
    left, top, right, bottom = font.getbbox(text)
    im = Image.new("L", (int(right - left) + 4, int(bottom - top) + 4), 0)
    draw = ImageDraw.Draw(im)
    if not antialias:
        draw.fontmode = "1"
    draw.text((2 - left, 2 - top), text, font=font, fill=255)
    return im


def dot_matrix_line(text: str, pitch: int, dot: int) -> Image.Image:
    """A dot-matrix rendering: a 7-row aliased raster of the text, each lit cell drawn as a round dot."""
    font = ImageFont.truetype(URW + "NimbusMonoPS-Bold.otf", 10)
    cells = np.asarray(_line_image(text, font, antialias=False)) > 0
    rows, cols = np.nonzero(cells)
    im = Image.new("L", (cells.shape[1] * pitch + dot, cells.shape[0] * pitch + dot), 0)
    draw = ImageDraw.Draw(im)
    for y, x in zip(rows, cols, strict=True):
        if dot == 1:
            draw.point((int(x) * pitch, int(y) * pitch), fill=255)
        else:
            x0, y0 = int(x) * pitch, int(y) * pitch
            draw.ellipse((x0, y0, x0 + dot - 1, y0 + dot - 1), fill=255)
    return im


@dataclass
class Style:
    """How one block of lines is drawn."""

    size: int = 11
    faces: str = "sans"
    antialias: bool = True
    corner: str = "tl"  # tl, tr, bl, br, mid
    spacing: float = 1.25
    dots: tuple[int, int] | None = None  # pitch, dot diameter


def place_block(rng: np.random.Generator, shape: tuple[int, int], lines: list[str], style: Style) -> list[NDArray[np.float64]]:
    """Each line's alpha (0..1) on a full-size canvas, stacked as a block in a corner or the middle."""
    face = str(rng.choice(FONTS[style.faces]))
    font = ImageFont.truetype(face, style.size)
    images = [dot_matrix_line(t, *style.dots) if style.dots else _line_image(t, font, style.antialias) for t in lines]
    h, w = shape
    step = int(max(im.height for im in images) * style.spacing)
    total = step * len(images)
    margin = int(rng.integers(3, 9))
    top = {"t": margin, "b": h - total - margin, "m": int(h * rng.uniform(0.35, 0.6))}[style.corner[0]]
    layers = []
    for i, im in enumerate(images):
        x = {"l": margin, "r": w - im.width - margin}.get(style.corner[1], int((w - im.width) * rng.uniform(0.3, 0.7)))
        canvas = Image.new("L", (w, h), 0)
        canvas.paste(im, (max(0, x), max(0, top + i * step)))
        layers.append(np.asarray(canvas, dtype=np.float64) / 255)
    return layers


def transform_layers(layers: list[NDArray[np.float64]], fn: Callable[[Image.Image], Image.Image]) -> list[NDArray[np.float64]]:
    out = []
    for a in layers:
        im = fn(Image.fromarray((a * 255).astype(np.uint8)))
        out.append(np.asarray(im, dtype=np.float64) / 255)
    return out


def rotate(angle: float, centre: tuple[float, float] | None = None) -> Callable[[Image.Image], Image.Image]:
    return lambda im: im.rotate(angle, resample=Image.Resampling.BICUBIC, center=centre)


def perspective(shape: tuple[int, int], rng: np.random.Generator) -> Callable[[Image.Image], Image.Image]:
    """A photographed screen: the corners pulled in by up to a fifth of the side."""
    h, w = shape

    def j(side: float) -> float:
        return float(rng.uniform(0.03, 0.2)) * side

    dst = [(j(w), j(h)), (w - j(w), j(h) * 0.3), (w - j(w) * 0.5, h - j(h)), (j(w) * 0.3, h - j(h) * 0.6)]
    src = [(0, 0), (w, 0), (w, h), (0, h)]
    a = []
    b = []
    for (x, y), (u, v) in zip(dst, src, strict=True):
        a.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        a.append([0, 0, 0, x, y, 1, -v * x, -v * y])
        b += [u, v]
    coeffs = np.linalg.solve(np.array(a, dtype=np.float64), np.array(b, dtype=np.float64))
    return lambda im: im.transform((w, h), Image.Transform.PERSPECTIVE, tuple(coeffs), Image.Resampling.BICUBIC)


def composite(img: NDArray[np.float64], alpha: NDArray[np.float64], value: float | NDArray[np.float64]) -> NDArray[np.float64]:
    """Blend a layer over a grey (H, W) or RGB (H, W, 3) display image."""
    if img.ndim == 3:
        alpha = alpha[..., None]
    return img * (1 - alpha) + alpha * value


def outline(alpha: NDArray[np.float64], size: int) -> NDArray[np.float64]:
    im = Image.fromarray((alpha * 255).astype(np.uint8)).filter(ImageFilter.MaxFilter(size))
    return np.asarray(im, dtype=np.float64) / 255


def shift(alpha: NDArray[np.float64], dy: int, dx: int) -> NDArray[np.float64]:
    return np.roll(np.roll(alpha, dy, axis=0), dx, axis=1)


# --- storing ------------------------------------------------------------------------------------------------

SOP: dict[str, str] = {"CT": "1.2.840.10008.5.1.4.1.1.2", "MR": "1.2.840.10008.5.1.4.1.1.4", "CR": "1.2.840.10008.5.1.4.1.1.1",
       "DX": "1.2.840.10008.5.1.4.1.1.1.1", "US": "1.2.840.10008.5.1.4.1.1.6.1", "OT": "1.2.840.10008.5.1.4.1.1.7"}
MAKERS = {"CT": "Orwen Medical", "MR": "Halvik Systems", "CR": "Dromund Imaging", "DX": "Dromund Imaging",
          "US": "Sonavix", "OT": "Pellucid Workstation"}


def stored_values(frame: Frame) -> NDArray[np.float64] | NDArray[np.uint8]:
    """Map display 0..1 to stored values through the window (or the full range), the way a viewer shows it."""
    d = frame.display
    if d.ndim == 3:
        return np.clip(np.round(d * 255), 0, 255).astype(np.uint8)
    top = 2 ** frame.bits - 1
    if frame.window is not None:
        centre, width = frame.window
        slope, intercept = frame.rescale or (1.0, 0.0)
        lo, hi = (centre - width / 2 - intercept) / slope, (centre + width / 2 - intercept) / slope
        v = lo + d * (hi - lo)
        # outside the body (display 0): air at -1000 HU on a CT, the window's bottom elsewhere
        air = (-1000 - intercept) / slope if frame.modality == "CT" else lo
        v = np.where(d <= 0.001, air, v)
    else:
        v = d * top
    if frame.mono1:
        v = top - v if not frame.window else (lo + hi) - v
    lo_s, hi_s = (-(2 ** (frame.bits - 1)), 2 ** (frame.bits - 1) - 1) if frame.signed else (0, top)
    out: NDArray[np.float64] = np.clip(np.round(v), lo_s, hi_s)
    return out


def to_dataset(frame: Frame, person: Person, rng: np.random.Generator) -> Dataset:
    ds = Dataset()
    meta = FileMetaDataset()
    sop = SOP[frame.modality]
    meta.MediaStorageSOPClassUID = UID(sop)
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta = meta
    ds.SOPClassUID, ds.SOPInstanceUID = sop, meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID, ds.SeriesInstanceUID = generate_uid(), generate_uid()
    ds.PatientName = f"{person.family}^{person.given}"
    ds.PatientID = person.pid
    ds.PatientBirthDate = "%04d%02d%02d" % person.birth
    ds.StudyDate = ds.SeriesDate = "%04d%02d%02d" % person.study
    ds.AccessionNumber = person.accession
    ds.InstitutionName = person.institution
    ds.Modality = frame.modality
    ds.Manufacturer = MAKERS[frame.modality]
    ds.ManufacturerModelName = f"Model {int(rng.integers(100, 999))}"
    ds.BurnedInAnnotation = "NO"  # the usual wrong flag: devices that burn text often say NO
    ds.SeriesNumber, ds.InstanceNumber = 1, 1
    stored = stored_values(frame)
    ds.Rows, ds.Columns = stored.shape[:2]
    if stored.ndim == 3:
        ds.SamplesPerPixel, ds.PlanarConfiguration = 3, 0
        ds.BitsAllocated = ds.BitsStored = 8
        ds.HighBit, ds.PixelRepresentation = 7, 0
        pixels = stored
        ds.PhotometricInterpretation = "RGB"
        if frame.ybr:
            pixels = convert_color_space(stored, "RGB", "YBR_FULL")
            ds.PhotometricInterpretation = "YBR_FULL"
        ds.PixelData = np.ascontiguousarray(pixels).astype(np.uint8).tobytes()
        return ds
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME1" if frame.mono1 else "MONOCHROME2"
    ds.BitsAllocated = 8 if frame.bits <= 8 else 16
    ds.BitsStored, ds.HighBit = frame.bits, frame.bits - 1
    ds.PixelRepresentation = 1 if frame.signed else 0
    if frame.rescale:
        ds.RescaleSlope, ds.RescaleIntercept = frame.rescale
        if frame.modality == "CT":
            ds.RescaleType = "HU"
    if frame.window:
        ds.WindowCenter, ds.WindowWidth = frame.window
    dtype = {(8, 0): np.uint8, (16, 0): np.uint16, (16, 1): np.int16}[(ds.BitsAllocated, ds.PixelRepresentation)]
    ds.PixelData = stored.astype(dtype).tobytes()
    return ds


def jpeg_roundtrip(display: NDArray[np.float64], quality: int) -> NDArray[np.float64]:
    """What a lossy archive leaves: encode the display image as JPEG with Pillow, keep the decoded pixels."""
    mode = "RGB" if display.ndim == 3 else "L"
    buf = io.BytesIO()
    Image.fromarray(np.clip(np.round(display * 255), 0, 255).astype(np.uint8), mode).save(buf, "JPEG", quality=quality)
    return np.asarray(Image.open(io.BytesIO(buf.getvalue())), dtype=np.float64) / 255


def write(ds: Dataset, path: Path) -> None:
    ds.save_as(path, enforce_file_format=True)


def read_pixels(path: Path) -> NDArray[np.float64]:
    ds = pydicom.dcmread(path)
    return np.asarray(ds.pixel_array, dtype=np.float64)  # pydicom hands YBR as RGB
