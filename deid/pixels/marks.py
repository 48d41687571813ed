"""Text-like marks without OCR: small bright strokes lined up on a row, and joining boxes on a line.

Burned-in annotations are drawn near the display's extreme value; on a sparse layer of such
pixels, a row of stroke-like components is text whether or not tesseract can read it. This
catches glyphs OCR misses (tiny fonts, text touching the border) and is the second pass's
evidence that nothing text-like is left.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from qms.deid.pixels.report import Rectangle

__all__ = ["merge_on_lines", "text_like_marks"]

_MAX_GLYPHS = 600
"""A layer with more glyph-sized components than this is texture, not annotation."""
_MIN_GLYPH_HEIGHT = 3
_FILL = (0.08, 0.8)
"""Text strokes fill part of their line's box; solid bars and lone dots do not look like this."""
_MIN_ASPECT = 2.5
"""A text line is at least this many times wider than it is high."""
_MIN_EXTREME_PIXELS = 6
_STROKED_SHARE = 0.8
"""Share of a text line's pixels with a 4-neighbour on the layer."""
_FLANK_SHARE = 0.05
"""Share of the layer's pixels allowed within one line height to the left and right of a text line."""
_MAX_RUN, _RUN_SHARE = 4.0, 0.3
"""Mean run of a text line's pixels along a row: at most this many pixels or this share of the line's height."""


def text_like_marks(layer: NDArray[np.bool_], extreme: NDArray[np.bool_], margin: int,
                    max_height: int | None = None, extreme_share: float = 0.1) -> list[Rectangle]:
    """Boxes (with margin, clipped) of the lines of stroke-like components on a sparse layer.

    `extreme` marks the pixels near the frame's extreme value: annotations are drawn at it
    (antialiased at their edges), so a line must hold a share of them, which anatomy rarely does.
    `max_height`: tallest glyph (default from the layer's own height; give the frame's for a window).
    `extreme_share`: share of a line's layer pixels that must be `extreme`. Strokes are thin: a line
    whose pixels run on along its rows (bone, a bar) is not text.
    """
    from scipy import ndimage  # only where a layer is searched: a worker that cleans no pixels skips scipy's import

    rows, columns = layer.shape
    joined = ndimage.binary_dilation(layer, structure=np.ones((3, 3), dtype=bool))  # strokes of one glyph touch
    labels, count = ndimage.label(joined, structure=np.ones((3, 3), dtype=bool))
    if count == 0:
        return []
    max_height = max_height or max(14, rows // 8)
    glyphs = [
        Rectangle(s[1].start, s[0].start, s[1].stop - s[1].start, s[0].stop - s[0].start)
        for s in ndimage.find_objects(labels)
        if s is not None and _MIN_GLYPH_HEIGHT + 2 <= s[0].stop - s[0].start <= max_height
    ]
    if len(glyphs) > _MAX_GLYPHS:
        return []
    found: list[Rectangle] = []
    for line in merge_on_lines(glyphs):
        window = (slice(line.y, line.y + line.height), slice(line.x, line.x + line.width))
        area = int(layer[window].sum())
        at_extreme = int(extreme[window].sum())
        fill = area / max(line.width * line.height, 1)
        drawn = at_extreme >= max(_MIN_EXTREME_PIXELS, extreme_share * area)
        if line.width >= _MIN_ASPECT * line.height and _FILL[0] <= fill <= _FILL[1] and drawn \
                and _thin(layer[window], line.height) and _stroked(layer[window]) and _alone(layer, line):
            widened = Rectangle(line.x - margin, line.y - margin, line.width + 2 * margin, line.height + 2 * margin)
            clipped = widened.clip(columns, rows)
            if clipped is not None:
                found.append(clipped)
    return found


def _thin(pixels: NDArray[np.bool_], height: int) -> bool:
    """Runs of pixels along the rows are short: glyph strokes, not solid shapes."""
    runs = int(np.count_nonzero(pixels[:, 1:] & ~pixels[:, :-1])) + int(np.count_nonzero(pixels[:, 0]))
    return bool(runs and np.count_nonzero(pixels) / runs <= max(_MAX_RUN, _RUN_SHARE * height))


def _stroked(pixels: NDArray[np.bool_]) -> bool:
    """Nearly every pixel touches another (4-neighbours): strokes are continuous, noise at a threshold is not."""
    touching = np.zeros_like(pixels)
    touching[:, 1:] |= pixels[:, :-1]
    touching[:, :-1] |= pixels[:, 1:]
    touching[1:, :] |= pixels[:-1, :]
    touching[:-1, :] |= pixels[1:, :]
    count = int(np.count_nonzero(pixels))
    return bool(count and np.count_nonzero(pixels & touching) >= _STROKED_SHARE * count)


def _alone(layer: NDArray[np.bool_], line: Rectangle) -> bool:
    """Beside the line, along its rows, the layer is nearly empty: a text line stands out from its
    background, a patch of noise at the layer's threshold runs on into more of it."""
    rows = slice(line.y, line.y + line.height)
    left = layer[rows, max(0, line.x - line.height) : line.x]
    right = layer[rows, line.x + line.width : line.x + line.width + line.height]
    flank = left.size + right.size
    return bool(flank == 0 or np.count_nonzero(left) + np.count_nonzero(right) <= _FLANK_SHARE * flank)


def merge_on_lines(boxes: list[Rectangle], gap: float = 3.0) -> list[Rectangle]:
    """Join boxes that share a text line (vertical overlap of half the lower one) and lie close.

    Close means a horizontal gap of at most `gap` times the taller box's height, so a word
    OCR could not read between two it did is covered too.
    """
    merged = sorted(boxes, key=lambda r: (r.x, r.y))
    changed = True
    while changed:
        changed = False
        out: list[Rectangle] = []
        for box in merged:
            for i, other in enumerate(out):
                if _same_line(box, other, gap):
                    out[i] = _union(box, other)
                    changed = True
                    break
            else:
                out.append(box)
        merged = sorted(out, key=lambda r: (r.x, r.y))
    return merged


def _same_line(a: Rectangle, b: Rectangle, gap: float) -> bool:
    overlap = min(a.y + a.height, b.y + b.height) - max(a.y, b.y)
    span = max(a.y + a.height, b.y + b.height) - min(a.y, b.y)
    if overlap < 0.5 * min(a.height, b.height) or span > 1.5 * max(a.height, b.height):
        return False
    distance = max(a.x, b.x) - min(a.x + a.width, b.x + b.width)
    return bool(distance <= gap * max(a.height, b.height))


def _union(a: Rectangle, b: Rectangle) -> Rectangle:
    x0, y0 = min(a.x, b.x), min(a.y, b.y)
    x1, y1 = max(a.x + a.width, b.x + b.width), max(a.y + a.height, b.y + b.height)
    return Rectangle(x0, y0, x1 - x0, y1 - y0)
