"""Burned-in text detection with tesseract (optional) and text-like marks: word boxes per frame.

tesseract is optional at run time: its library is kept loaded in a child process (`ocr_engine`), or the
binary through pytesseract where `tesseract_cmd` names one or the library is missing; when neither
can run, `unavailable_reason` says so and the caller refuses images that need detection.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from qms.deid.pixels import ocr_engine
from qms.deid.pixels.marks import merge_on_lines, text_like_marks
from qms.deid.pixels.options import OcrMode, PixelOptions
from qms.deid.pixels.render import Rendering
from qms.deid.pixels.report import Rectangle

__all__ = ["detect_text", "unavailable_reason", "Word", "words_in"]

_OCR_SIZE = 400
"""Images are enlarged (up to 4 times) until their smaller side reaches this, for tesseract's glyph sizes."""
_EXTREME_BAND = 51
"""Grey levels (of 255) from either end counted as the extreme values annotations are drawn with."""
_HALF_BAND = 127
"""Antialiased small fonts reach the extreme value only in a few pixels; their marks are sought
on the brighter (darker) half as well, when that half is sparse."""
_SPARSE_LAYER = 0.05
"""An extreme-value layer covering more than this fraction of the image is background, not text."""
_LAYER_MIN_CONFIDENCE = 10.0
_BANNER = 0.2
"""Top and bottom share of the image where annotation banners run the full width."""
_MIN_LINE_LIMIT = 16
"""Smallest limit, in pixels, on the height of a word (see `_read_pages`)."""
_BORDER = 16
"""White border around each stacked page: tesseract misses text that touches an image edge."""
_STRONG_CONFIDENCE = 70.0
"""A word this sure, of three or more letters or digits, is text beyond reasonable doubt."""


def unavailable_reason(options: PixelOptions) -> str | None:
    """Why text detection cannot run with these options, or None when it can."""
    if options.ocr is OcrMode.OFF:
        return "text detection is switched off"
    if options.tesseract_cmd is None and ocr_engine.available():
        return None
    try:
        import pytesseract  # noqa: F401
    except ImportError:
        return "pytesseract is not installed"
    command = options.tesseract_cmd or "tesseract"
    if shutil.which(command) is None:
        return f"the tesseract binary {command!r} is not found"
    return None


@dataclass(frozen=True)
class Word:
    """A box of text found (never the text itself: burned-in text is PHI)."""

    rectangle: Rectangle
    confidence: float
    strong: bool
    """Text beyond reasonable doubt: a word read with `_STRONG_CONFIDENCE` and three letters or
    digits, or a line of text-like marks."""
    worded: bool = False
    """A word of three or more letters or digits passed its page's thresholds, or a line of
    marks: its whole row is an annotation line (see `detect_text`)."""


def detect_text(images: list[Rendering], options: PixelOptions) -> list[Word]:
    """Words tesseract reads and lines of text-like marks, joined per text line, with the margin.

    All pages are stacked into one tall image so tesseract starts once per call.
    """
    pages = [page for image in images for page in _pages(image, options)]
    if not pages:
        return []
    rows, columns = images[0].grey.shape
    found = _read_pages(pages, rows, columns, options)
    for image in images:
        for band in (_EXTREME_BAND, _HALF_BAND):
            for layer, extreme in zip(*_layers_with_extremes(image.absolute, band), strict=True):
                found += [Word(r, 100.0, True, True) for r in text_like_marks(layer, extreme, options.ocr_margin)]
    words: list[Word] = []
    for line in merge_on_lines([w.rectangle for w in found]):
        inside = [w for w in found if _contains(line, w.rectangle)]
        worded = any(w.worded for w in inside)
        banner = line.y < _BANNER * rows or line.y + line.height > (1 - _BANNER) * rows
        if worded and banner:  # OCR misses words of a banner it partly reads: mask the whole row
            line = Rectangle(0, line.y, columns, line.height)
        words.append(Word(line, max(w.confidence for w in inside), any(w.strong for w in inside), worded))
    return words


def _contains(outer: Rectangle, inner: Rectangle) -> bool:
    right, bottom = outer.x + outer.width, outer.y + outer.height
    return bool(outer.x <= inner.x and outer.y <= inner.y and inner.x + inner.width <= right and inner.y + inner.height <= bottom)


def _layers(absolute: NDArray[np.uint8]) -> list[NDArray[np.bool_]]:
    """The sparse layers of near-maximum and near-minimum pixels, where annotations are drawn."""
    return _layers_with_extremes(absolute, _EXTREME_BAND)[0]


def _layers_with_extremes(
    grey: NDArray[np.uint8], band: int
) -> tuple[list[NDArray[np.bool_]], list[NDArray[np.bool_]]]:
    """Sparse layers within `band` of the stored range's ends, each with its near-extreme pixels.

    `grey` is scaled over the range the stored values can take, not over the frame's own
    values: anatomy seldom reaches the ends of the range, annotations are drawn there.
    """
    pairs = [(grey >= 255 - band, grey >= 255 - _EXTREME_BAND), (grey <= band, grey <= _EXTREME_BAND)]
    kept = [(layer, extreme) for layer, extreme in pairs if 0 < layer.mean() <= _SPARSE_LAYER]
    return [layer for layer, _ in kept], [extreme for _, extreme in kept]


@dataclass(frozen=True)
class _Page:
    """One image given to tesseract, and what a word read on it needs to count."""

    pixels: NDArray[np.uint8]
    min_confidence: float
    min_letters: int


def _pages(image: Rendering, options: PixelOptions) -> list[_Page]:
    """The image (dark text on light), then each sparse extreme-value layer as black on white.

    On the image itself tesseract reads texture as one- or two-letter words, so a word needs
    two letters or digits and `ocr_min_confidence`; a layer holds few pixels besides the
    annotations, so any word with a lower confidence is trusted there.
    """
    grey = image.grey
    pages = [_Page(grey if grey.mean() >= 128 else 255 - grey, options.ocr_min_confidence, 2)]
    low = min(options.ocr_min_confidence, _LAYER_MIN_CONFIDENCE)
    pages += [_Page(np.where(layer, 0, 255).astype(np.uint8), low, 1) for layer in _layers(image.absolute)]
    return pages


def _read_pages(pages: list[_Page], rows: int, columns: int, options: PixelOptions) -> list[Word]:
    """Stack the pages with white borders, read them in one tesseract run, map boxes back per page."""
    pitch = rows + 2 * _BORDER
    canvas = np.full((pitch * len(pages), columns + 2 * _BORDER), 255, dtype=np.uint8)
    for k, page in enumerate(pages):
        canvas[k * pitch + _BORDER : k * pitch + _BORDER + rows, _BORDER : _BORDER + columns] = page.pixels
    words: list[Word] = []
    for word, letters in _read(canvas, min(4, max(1, -(-_OCR_SIZE // min(rows, columns)))), options):
        k = (word.rectangle.y + options.ocr_margin) // pitch
        if k >= len(pages) or word.confidence < pages[k].min_confidence or letters < pages[k].min_letters:
            continue
        r = word.rectangle
        if r.height > max(rows // 6, _MIN_LINE_LIMIT) + 2 * options.ocr_margin:
            continue  # a "word" taller than a sixth of the image is anatomy read as text
        clipped = Rectangle(r.x - _BORDER, r.y - k * pitch - _BORDER, r.width, r.height).clip(columns, rows)
        if clipped is not None:
            words.append(Word(clipped, word.confidence, word.strong, letters >= 3))
    return words


_TESSERACT_ENV = {**os.environ, "OMP_THREAD_LIMIT": "1"}
"""tesseract's own OpenMP threads spin while they wait: on a page this size one thread reads the same words (tested)
for a quarter of the CPU, and files are already read in parallel by the engine's workers."""


def _read(canvas: NDArray[np.uint8], scale: int, options: PixelOptions) -> list[tuple[Word, int]]:
    """Every word with letters or digits on the canvas (canvas coordinates, widened by the margin), with their count.

    Read by the tesseract kept loaded in a child process (`ocr_engine`), or by the binary `tesseract_cmd` names.
    """
    from PIL import Image

    rows, columns = canvas.shape
    image = Image.fromarray(canvas)
    if scale > 1:
        image = image.resize((columns * scale, rows * scale), Image.Resampling.BICUBIC)
    if options.tesseract_cmd is None and ocr_engine.available():
        table = ocr_engine.read_tsv(np.asarray(image))
    else:
        table = _binary_tsv(image, options)
    found: list[tuple[Word, int]] = []
    m = options.ocr_margin
    for row in table.splitlines():
        cells = row.split("\t")
        if len(cells) < 12 or not cells[0].isdigit():
            continue  # the header row, or a line of no word
        text, confidence = cells[11], float(cells[10])
        letters = sum(ch.isalnum() for ch in text)
        if letters == 0:
            continue
        left, top, width, height = (int(c) for c in cells[6:10])
        x, y = left // scale, top // scale
        w, h = -(-width // scale), -(-height // scale)
        strong = confidence >= _STRONG_CONFIDENCE and letters >= 3
        found.append((Word(Rectangle(x - m, y - m, w + 2 * m, h + 2 * m), confidence, strong), letters))
    return found


def _binary_tsv(image: Any, options: PixelOptions) -> str:
    """The TSV the tesseract binary prints for the image (through pytesseract), with its header row."""
    import pytesseract

    pytesseract.pytesseract.tesseract_cmd = options.tesseract_cmd or "tesseract"
    pytesseract.pytesseract.environ = _TESSERACT_ENV
    return str(pytesseract.image_to_data(image, config="--psm 11 -c tessedit_do_invert=0"))


def words_in(grey: NDArray[np.uint8], options: PixelOptions) -> list[Rectangle]:
    """Boxes (with the margin) of the words tesseract reads in one image, such as an undecided window."""
    rows, columns = grey.shape
    page = _Page(grey if grey.mean() >= 128 else 255 - grey, options.ocr_min_confidence, 2)
    return [w.rectangle for w in _read_pages([page], rows, columns, options)]
