"""The attack's categories: each builds one image with its planted lines (or none, for the clean ones)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from PIL import Image, ImageDraw, ImageFont

from burnedin_attack import (
    CJK_FAMILY, CJK_GIVEN, FONTS, Case, Frame, Person, Style, anatomy, composite, jpeg_roundtrip, make_person, outline, perspective,
    place_block, rotate, shift, to_dataset, transform_layers, ultrasound, write,
)

Layers = list[NDArray[np.float64]]
Built = tuple[Frame, Layers, list[str]]
MAX = 40.0  # a display value past the window's top: stored as the maximum (minimum for MONOCHROME1)
SHAPE = (256, 256)
US_SHAPE = (240, 320)


def grey_frame(rng: np.random.Generator, modality: str | None = None) -> Frame:
    """A CT, MR, CR/DX or 8-bit secondary capture, with the storage choices real ones make."""
    modality = modality or str(rng.choice(["CT", "CT", "MR", "CR", "DX", "OT"]))
    if modality == "CT":
        signed = bool(rng.random() < 0.4)
        window = ((40.0, 400.0), (-600.0, 1500.0), (300.0, 1500.0))[int(rng.integers(3))]
        return Frame("CT", anatomy(rng, SHAPE, "ct"), bits=16 if signed else 12, signed=signed,
                     rescale=None if signed else (1.0, -1024.0), window=window)
    if modality == "MR":
        bits = int(rng.choice([12, 16]))
        mr_window = (float(2 ** bits * 0.2), float(2 ** bits * 0.35)) if rng.random() < 0.6 else None
        return Frame("MR", anatomy(rng, SHAPE, "mr"), bits=bits, window=mr_window)
    if modality in ("CR", "DX"):
        bits = int(rng.choice([12, 14, 16]))
        rescale = (float(rng.choice([0.5, 2.0])), float(rng.choice([0.0, -100.0]))) if rng.random() < 0.3 else None
        return Frame(modality, anatomy(rng, SHAPE, "xray"), bits=bits, mono1=bool(rng.random() < 0.5), rescale=rescale)
    return Frame("OT", anatomy(rng, SHAPE, str(rng.choice(["ct", "xray"]))), bits=8)


def text_value(rng: np.random.Generator) -> float:
    """White as shown (the window's top), past it (the stored maximum), or a light grey."""
    return float(rng.choice([1.0, MAX, 0.85]))


def block(rng: np.random.Generator, person: Person, style: Style, shape: tuple[int, int] = SHAPE) -> tuple[Layers, list[str]]:
    texts = person.lines(rng)
    return place_block(rng, shape, texts, style), texts


def _plain(faces: str, sizes: tuple[int, int], antialias: bool = True) -> Callable[[np.random.Generator, Person], Built]:
    def build(rng: np.random.Generator, person: Person) -> Built:
        frame = grey_frame(rng)
        style = Style(size=int(rng.integers(*sizes)), faces=faces, antialias=antialias,
                      corner=str(rng.choice(["tl", "tr", "bl", "br"])), spacing=float(rng.uniform(1.1, 1.4)))
        layers, texts = block(rng, person, style)
        frame.display = _draw(frame.display, layers, text_value(rng))
        return frame, layers, texts
    return build


def _draw(img: NDArray[np.float64], layers: Layers, value: float | NDArray[np.float64]) -> NDArray[np.float64]:
    for a in layers:
        img = composite(img, a, value)
    return img


def cjk_name(rng: np.random.Generator, person: Person) -> Built:
    """A name in Chinese characters (Droid Sans Fallback) above the id and dates in a Latin face."""
    frame = grey_frame(rng)
    name = str(rng.choice(list(CJK_FAMILY))) + "".join(rng.choice(list(CJK_GIVEN), int(rng.integers(1, 3))))
    size = int(rng.integers(10, 16))
    top, t1 = place_block(rng, SHAPE, [name], Style(size=size, faces="droid", corner="tl")), [name]
    rest, t2 = block(rng, person, Style(size=size - 1, faces=str(rng.choice(["sans", "mono"])), corner="bl"))
    layers = top + rest
    frame.display = _draw(frame.display, layers, text_value(rng))
    return frame, layers, t1 + t2


def four_corners(rng: np.random.Generator, person: Person) -> Built:
    """A CT/MR viewer's overlay: a block in every corner (name and id; dates; institution; series info)."""
    frame = grey_frame(rng, str(rng.choice(["CT", "MR"])))
    size = int(rng.integers(9, 13))
    faces = str(rng.choice(["sans", "mono", "condensed"]))
    layers: Layers = []
    texts: list[str] = []
    for corner in ("tl", "tr", "bl", "br"):
        got, t = block(rng, person, Style(size=size, faces=faces, corner=corner))
        layers += got
        texts += t
    frame.display = _draw(frame.display, layers, text_value(rng))
    return frame, layers, texts


def box_semiopaque(rng: np.random.Generator, person: Person) -> Built:
    """Text on a dark half-transparent box (anatomy shows through the box, not through the glyphs)."""
    frame = grey_frame(rng)
    style = Style(size=int(rng.integers(9, 15)), faces=str(rng.choice(["sans", "mono", "bold"])),
                  corner=str(rng.choice(["tl", "tr", "bl", "br", "mc"])))
    layers, texts = block(rng, person, style)
    union = np.clip(sum(layers), 0, 1)
    ys, xs = np.nonzero(union > 0)
    box = np.zeros(SHAPE)
    box[max(0, ys.min() - 3): ys.max() + 4, max(0, xs.min() - 3): xs.max() + 4] = float(rng.uniform(0.4, 0.75))
    frame.display = _draw(composite(frame.display, box, float(rng.uniform(0.0, 0.15))), layers, text_value(rng))
    return frame, layers, texts


def outlined(rng: np.random.Generator, person: Person) -> Built:
    """Light glyphs with a dark outline or drop shadow, readable over any anatomy (text anywhere)."""
    frame = grey_frame(rng)
    style = Style(size=int(rng.integers(10, 18)), faces=str(rng.choice(["sans", "bold", "serif"])),
                  corner=str(rng.choice(["tl", "br", "mc", "ml"])))
    layers, texts = block(rng, person, style)
    img = frame.display
    for a in layers:
        dark = outline(a, 3) if rng.random() < 0.5 else shift(a, 1, 1)
        img = composite(composite(img, dark, 0.0), a, text_value(rng))
    frame.display = img
    return frame, layers, texts


def rotated_right(rng: np.random.Generator, person: Person) -> Built:
    """Text turned by 90, 180 or 270 degrees (a film printed sideways, a label along the edge)."""
    frame = grey_frame(rng)
    layers, texts = block(rng, person, Style(size=int(rng.integers(9, 15)), faces=str(rng.choice(["sans", "mono", "serif"])),
                                             corner=str(rng.choice(["tl", "tr", "bl", "br"]))))
    angle = float(rng.choice([90, 180, 270]))
    layers = transform_layers(layers, rotate(angle))
    frame.display = _draw(frame.display, layers, text_value(rng))
    return frame, layers, texts


def tilted(rng: np.random.Generator, person: Person) -> Built:
    """A small tilt (2-12 degrees either way) about the block's corner."""
    frame = grey_frame(rng)
    layers, texts = block(rng, person, Style(size=int(rng.integers(9, 16)), faces=str(rng.choice(["sans", "mono", "bold"])),
                                             corner=str(rng.choice(["tl", "bl", "mc"]))))
    ys, xs = np.nonzero(np.clip(sum(layers), 0, 1) > 0)
    angle = float(rng.uniform(2, 12) * rng.choice([-1, 1]))
    layers = transform_layers(layers, rotate(angle, (float(xs.mean()), float(ys.mean()))))
    frame.display = _draw(frame.display, layers, text_value(rng))
    return frame, layers, texts


def photographed(rng: np.random.Generator, person: Person) -> Built:
    """A photographed screen: image and text under one perspective warp, then a mild blur."""
    frame = grey_frame(rng, str(rng.choice(["OT", "CT", "MR"])))
    layers, texts = block(rng, person, Style(size=int(rng.integers(10, 16)), faces=str(rng.choice(["sans", "mono"])),
                                             corner=str(rng.choice(["tl", "tr", "bl"]))))
    img = _draw(frame.display, layers, text_value(rng))
    warp = perspective(SHAPE, rng)
    frame.display = transform_layers([np.clip(img, 0, 1)], warp)[0]
    layers = transform_layers(layers, warp)
    return frame, layers, texts


def jpeg_lossy(rng: np.random.Generator, person: Person) -> Built:
    """Text after a lossy archive: JPEG quality 40-85 of the shown image, the decoded pixels stored."""
    frame = grey_frame(rng, str(rng.choice(["OT", "CR", "MR"])))
    frame.window = None
    frame.rescale = None
    frame.bits = 8
    layers, texts = block(rng, person, Style(size=int(rng.integers(9, 15)), faces=str(rng.choice(["sans", "serif", "mono"])),
                                             corner=str(rng.choice(["tl", "tr", "bl", "br"]))))
    img = np.clip(_draw(frame.display, layers, 1.0), 0, 1)
    frame.display = jpeg_roundtrip(img, int(rng.integers(40, 86)))
    return frame, layers, texts


def over_anatomy(rng: np.random.Generator, person: Person) -> Built:
    """Text in the middle of the body, at white, over textured organs."""
    frame = grey_frame(rng, str(rng.choice(["CT", "MR", "DX"])))
    layers, texts = block(rng, person, Style(size=int(rng.integers(10, 16)), faces=str(rng.choice(["sans", "condensed", "serif"])),
                                             corner="mc"))
    frame.display = _draw(frame.display, layers, float(rng.choice([1.0, 0.9])))
    return frame, layers, texts


def faint_over_anatomy(rng: np.random.Generator, person: Person) -> Built:
    """Text a little brighter than the tissue under it (an annotation layer at 30-50 % opacity)."""
    frame = grey_frame(rng, str(rng.choice(["CT", "MR", "CR"])))
    layers, texts = block(rng, person, Style(size=int(rng.integers(11, 18)), faces=str(rng.choice(["sans", "bold"])),
                                             corner=str(rng.choice(["mc", "ml"]))))
    opacity = float(rng.uniform(0.3, 0.5))
    frame.display = _draw(frame.display, [a * opacity for a in layers], 1.0)
    return frame, layers, texts


def dot_matrix(rng: np.random.Generator, person: Person) -> Built:
    """A dot-matrix font (a printer's or an old console's): separate round dots, pitch 2-3 px."""
    frame = grey_frame(rng)
    pitch = int(rng.choice([2, 3]))
    layers, texts = block(rng, person, Style(dots=(pitch, pitch - 1 if pitch == 3 else 1), corner=str(rng.choice(["tl", "bl", "tr"])),
                                             spacing=1.15))
    frame.display = _draw(frame.display, layers, text_value(rng))
    return frame, layers, texts


def _us_furniture(rng: np.random.Generator, img: NDArray[np.float64], labels: bool) -> NDArray[np.float64]:
    """Calipers (+ marks and a dotted line), a depth scale with ticks, a focus marker; tick numbers if asked."""
    h, w = img.shape[:2]
    canvas = Image.new("L", (w, h), 0)
    draw = ImageDraw.Draw(canvas)
    for _ in range(int(rng.integers(1, 3))):
        (y0, x0), (y1, x1) = (rng.integers(60, h - 30, 2), rng.integers(100, w - 60, 2)), (rng.integers(60, h - 30, 2), rng.integers(100, w - 60, 2))
        for y, x in ((y0[0], x0[0]), (y1[0], x1[0])):
            draw.line((x - 4, y, x + 4, y), fill=255)
            draw.line((x, y - 4, x, y + 4), fill=255)
        n = 12
        for k in range(n):
            t = k / n
            draw.point((x0[0] + (x1[0] - x0[0]) * t, y0[0] + (y1[0] - y0[0]) * t), fill=255)
    x = w - 18
    draw.line((x, 25, x, h - 15), fill=255)
    for i, y in enumerate(range(25, h - 15, 10)):
        draw.line((x, y, x + (6 if i % 5 == 0 else 3), y), fill=255)
        if labels and i % 5 == 0:
            draw.text((x + 8, y - 5), str(i // 5), fill=255)
    draw.polygon([(x - 6, 120), (x - 2, 117), (x - 2, 123)], fill=255)
    a = np.asarray(canvas, dtype=np.float64) / 255
    return composite(img, a, np.array([0.9, 0.9, 0.9]))


US_COLOURS = [np.array(c, dtype=np.float64) for c in ((1, 1, 1), (1, 1, 0.2), (0.2, 1, 1), (0.4, 1, 0.4))]


def us_overlay(rng: np.random.Generator, person: Person) -> Built:
    """An ultrasound screen: a sector, calipers and depth scale, and the patient header in colour (RGB or YBR)."""
    grey = ultrasound(rng, US_SHAPE)
    img = _us_furniture(rng, np.repeat(grey[..., None], 3, axis=2), labels=bool(rng.random() < 0.5))
    style = Style(size=int(rng.integers(8, 13)), faces=str(rng.choice(["sans", "mono", "condensed", "droid"])),
                  corner=str(rng.choice(["tl", "tr"])), antialias=bool(rng.random() < 0.6))
    layers, texts = block(rng, person, style, US_SHAPE)
    colour = US_COLOURS[int(rng.integers(len(US_COLOURS)))]
    img = _draw(img, layers, colour)
    return Frame("US", np.clip(img, 0, 1), bits=8, ybr=bool(rng.random() < 0.5)), layers, texts


def mono1(rng: np.random.Generator, person: Person) -> Built:
    """A MONOCHROME1 radiograph: text that shows white is stored low (the scanner's lowest value or near it)."""
    frame = grey_frame(rng, str(rng.choice(["CR", "DX"])))
    frame.mono1 = True
    layers, texts = block(rng, person, Style(size=int(rng.integers(9, 16)), faces=str(rng.choice(["sans", "mono", "bold", "serif"])),
                                             corner=str(rng.choice(["tl", "tr", "bl", "br"]))))
    frame.display = _draw(frame.display, layers, text_value(rng))
    return frame, layers, texts


def dark_text(rng: np.random.Generator, person: Person) -> Built:
    """Black text on a bright radiograph region (a label printed dark over the lung field or a white strip)."""
    frame = grey_frame(rng, str(rng.choice(["CR", "DX", "OT"])))
    layers, texts = block(rng, person, Style(size=int(rng.integers(10, 16)), faces=str(rng.choice(["sans", "bold", "mono"])),
                                             corner=str(rng.choice(["tl", "bl"]))))
    strip = np.zeros(SHAPE)
    ys, xs = np.nonzero(np.clip(sum(layers), 0, 1) > 0)
    strip[max(0, ys.min() - 4): ys.max() + 5, :] = 1.0
    frame.display = _draw(composite(frame.display, strip, 0.95), layers, 0.0)
    return frame, layers, texts


def clean(kind: str) -> Callable[[np.random.Generator, Person], Built]:
    """Images with no PHI: plain anatomy, rulers and grids, L/R lead markers, an ultrasound with calipers, or a
    radiograph kept off the stored extremes (the plain ones clip 1-3 % of their pixels, as over-exposure does)."""
    def build(rng: np.random.Generator, person: Person) -> Built:
        if kind == "us":
            grey = ultrasound(rng, US_SHAPE)
            img = _us_furniture(rng, np.repeat(grey[..., None], 3, axis=2), labels=bool(rng.random() < 0.5))
            return Frame("US", np.clip(img, 0, 1), bits=8, ybr=bool(rng.random() < 0.3)), [], []
        if kind == "unclipped":  # a radiograph whose anatomy never reaches the stored extremes
            frame = grey_frame(rng, str(rng.choice(["CR", "DX"])))
            frame.display = anatomy(rng, SHAPE, "xray", gain=0.6)
            return frame, [], []
        frame = grey_frame(rng)
        if kind == "plain":
            return frame, [], []
        canvas = Image.new("L", (SHAPE[1], SHAPE[0]), 0)
        draw = ImageDraw.Draw(canvas)
        if kind == "ruler":
            y = int(rng.integers(200, 246))
            draw.line((20, y, 236, y), fill=255)
            for i, x in enumerate(range(20, 237, 5)):
                draw.line((x, y, x, y - (8 if i % 10 == 0 else 5 if i % 5 == 0 else 3)), fill=255)
            if rng.random() < 0.5:  # a reference grid
                for g in range(32, 256, 32):
                    for t in range(0, 256, 4):
                        draw.point((g, t), fill=255)
                        draw.point((t, g), fill=255)
            else:  # calipers
                for _ in range(2):
                    cx, cy = int(rng.integers(60, 200)), int(rng.integers(60, 180))
                    draw.line((cx - 5, cy, cx + 5, cy), fill=255)
                    draw.line((cx, cy - 5, cx, cy + 5), fill=255)
        else:  # lead markers, one letter each, in a square frame as on a plate
            font = ImageFont.truetype(str(rng.choice(FONTS["bold"])), int(rng.integers(14, 26)))
            for letter, x in (("R", int(rng.integers(8, 40))), ("L", int(rng.integers(200, 225)))):
                y = int(rng.integers(10, 60))
                draw.rectangle((x - 3, y - 3, x + 22, y + 26), outline=255)
                draw.text((x, y), letter, font=font, fill=255)
        frame.display = composite(frame.display, np.asarray(canvas, dtype=np.float64) / 255, text_value(rng))
        return frame, [], []
    return build


TEXT_CATEGORIES: dict[str, Callable[[np.random.Generator, Person], Built]] = {
    "small 7-9 px, sans": _plain("sans", (9, 12)),
    "small 7-9 px, mono (Nimbus/Noto/DejaVu)": _plain("mono", (9, 12)),
    "large bold 22-34 px": _plain("bold", (22, 35)),
    "condensed": _plain("condensed", (10, 15)),
    "serif (C059, P052, Nimbus Roman, Bookman)": _plain("serif", (10, 16)),
    "italic/oblique": _plain("italic", (10, 16)),
    "CJK name (Droid Sans Fallback) + Latin lines": cjk_name,
    "aliased (no antialiasing)": _plain("sans", (9, 15), antialias=False),
    "four corner blocks (viewer overlay)": four_corners,
    "semi-opaque box behind text": box_semiopaque,
    "outlined / shadowed": outlined,
    "rotated 90/180/270": rotated_right,
    "tilted 2-12 degrees": tilted,
    "perspective (photographed screen)": photographed,
    "JPEG q40-85, decoded pixels stored": jpeg_lossy,
    "white text over anatomy": over_anatomy,
    "faint (30-50 % opacity) over anatomy": faint_over_anatomy,
    "dot-matrix font": dot_matrix,
    "ultrasound RGB/YBR overlay + calipers": us_overlay,
    "MONOCHROME1 radiograph": mono1,
    "dark text on bright strip": dark_text,
}
CLEAN_CATEGORIES: dict[str, Callable[[np.random.Generator, Person], Built]] = {
    "clean: plain anatomy": clean("plain"),
    "clean: ruler, ticks, grid/calipers": clean("ruler"),
    "clean: L/R lead markers": clean("markers"),
    "clean: ultrasound calipers + depth scale": clean("us"),
    "clean: radiograph, anatomy unclipped": clean("unclipped"),
}


def generate(seed: int, folder: Path, per_text: int, per_clean: int) -> list[Case]:
    """Write every category's images into folder; return what was planted where."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    cases: list[Case] = []
    plan = [(c, b, per_text) for c, b in TEXT_CATEGORIES.items()] + [(c, b, per_clean) for c, b in CLEAN_CATEGORIES.items()]
    for c_index, (category, build, n) in enumerate(plan):
        for i in range(n):
            person = make_person(rng)
            frame, layers, texts = build(rng, person)
            name = f"c{c_index:02d}_{i:02d}.dcm"
            write(to_dataset(frame, person, rng), folder / name)
            masks = [a >= 0.5 for a in layers]
            kept = [(m, t) for m, t in zip(masks, texts, strict=True) if m.any()]
            cases.append(Case(name, category, frame.modality, [m for m, _ in kept], [t for _, t in kept]))
    return cases
