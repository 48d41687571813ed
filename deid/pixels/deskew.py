"""Text lines tilted by a few degrees: find a window's line direction, turn the layer level, search it again.

`marks.text_like_marks` joins glyphs into a line only when they share rows: along a label tilted by 15
degrees each glyph sits a few pixels above the last, the line's box is too high and too empty to pass,
and the tiles of `prefilter` may split it into several windows. The direction of a line of text is the
one along which its glyphs' pixels project onto the fewest, fullest rows (the sharpest projection
profile, the classic deskew); only glyph-sized components count, so a bone or an organ on the same layer
does not set it. The part of the layer that the windows of one tilt span is turned by that angle
(bilinear, thresholded at one half), searched as a level layer, and each mark's corners are turned
back: the mask is the upright box around the tilted line. Only windows where the level search found
nothing are measured, so an image whose layers hold no tilted strokes pays nothing.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from numpy.typing import NDArray

from qms.deid.pixels.report import Rectangle

__all__ = ["line_angle", "tilted_marks"]

_ANGLES = np.deg2rad(np.arange(-51.0, 51.5, 1.5))
"""Directions tried, in radians."""
_MIN_TILT, _MAX_TILT = 3.0, 45.0
"""Degrees: a line closer to level than the first is the level search's; one steeper than the second is the
search along the columns' (the layer transposed), where it is at most 45 degrees from level."""
_MAX_TURNS = 2
"""Distinct angles tried per layer (the windows' most frequent), bounding the cost of a cluttered layer."""
_MIN_GLYPH_PIXELS = 4
_MIN_POINTS, _MAX_POINTS = 40, 4000
"""Fewer glyph pixels than this in a window cannot set a direction; of more than the second, evenly taken."""

_MIN_GLYPHS, _SIZE_RATIO, _ALIKE_SHARE = 4, 3.0, 0.65
"""A turned line: at least 4 components, 65 % of them within a factor 3 of the median size (pixels)."""

Search = Callable[[NDArray[np.bool_], NDArray[np.bool_]], list[Rectangle]]
"""The level search of (part of) a layer and its core: boxes of text-like lines."""


def line_angle(window: NDArray[np.bool_], max_height: int) -> float:
    """Degrees (-51 to 51, positive: rising to the right as displayed) of the sharpest projection of the
    glyph-sized components of `window` (components of at most max_height squared over two pixels); 0 when
    there are too few of them to make a line."""
    from scipy import ndimage

    labels, count = ndimage.label(window, structure=np.ones((3, 3), dtype=bool))
    if count == 0:
        return 0.0
    sizes = np.bincount(labels.ravel())
    glyph = (sizes <= max_height * max_height // 2) & (sizes >= _MIN_GLYPH_PIXELS)
    glyph[0] = False
    ys, xs = np.nonzero(glyph[labels])
    if ys.size < _MIN_POINTS or np.count_nonzero(glyph) < _MIN_GLYPHS:
        return 0.0
    step = max(1, ys.size // _MAX_POINTS)
    ys, xs = ys[::step], xs[::step]
    # Distance of each pixel from a line through the origin, per direction, binned to whole pixels.
    offsets = np.rint(np.outer(np.cos(_ANGLES), ys) + np.outer(np.sin(_ANGLES), xs)).astype(np.int64)
    offsets -= offsets.min(axis=1, keepdims=True)
    width = int(offsets.max()) + 1
    flat = offsets + np.arange(len(_ANGLES))[:, None] * width
    profiles = np.bincount(flat.ravel(), minlength=len(_ANGLES) * width).reshape(len(_ANGLES), width)
    best = int(np.argmax((profiles.astype(np.int64) ** 2).sum(axis=1)))
    return float(np.rad2deg(_ANGLES[best]))


def tilted_marks(layer: NDArray[np.bool_], core: NDArray[np.bool_], windows: list[tuple[slice, slice]],
                 max_height: int, search: Search) -> list[Rectangle]:
    """Upright boxes (in the layer) of the lines `search` finds where `windows` (those in which the level
    search found nothing) are tilted, each part turned level; empty when none is tilted."""
    angles = [line_angle(layer[rows, columns], max_height) for rows, columns in windows]
    tilted = [a for a in angles if _MIN_TILT <= abs(a) <= _MAX_TILT]
    found: list[Rectangle] = []
    for angle in sorted(set(tilted), key=lambda a: (-tilted.count(a), a))[:_MAX_TURNS]:
        # The part of the layer the windows of this tilt span (a line the tiles split spans them all).
        parts = [w for w, a in zip(windows, angles, strict=True) if a == angle]
        rows = slice(min(w[0].start for w in parts), max(w[0].stop for w in parts))
        columns = slice(min(w[1].start for w in parts), max(w[1].stop for w in parts))
        part = layer[rows, columns]
        turn = _Turn(part.shape, math.radians(angle))
        level = turn.level(part)
        for mark in search(level, level if core is layer else turn.level(core[rows, columns])):
            box = turn.back(mark).clip(part.shape[1], part.shape[0])
            # Glyphs are counted unturned: turning thin strokes back and forth breaks them.
            if box is not None and _glyph_row(part[box.y : box.y + box.height, box.x : box.x + box.width]):
                found.append(Rectangle(box.x + columns.start, box.y + rows.start, box.width, box.height))
    return found


def _glyph_row(pixels: NDArray[np.bool_]) -> bool:
    """A turned line holds several separate components of like size (glyphs of one font): at some angle any
    few blobs (of texture, of colour flow) line up, and blobs come in all sizes."""
    from scipy import ndimage

    labels, count = ndimage.label(pixels, structure=np.ones((3, 3), dtype=bool))
    sizes = np.bincount(labels.ravel())[1:]
    sizes = sizes[sizes >= _MIN_GLYPH_PIXELS]  # specks of noise (a pixel or two at the layer's value) are no glyphs
    count = sizes.size
    if count < _MIN_GLYPHS:
        return False
    typical = float(np.median(sizes))
    alike = (sizes >= typical / _SIZE_RATIO) & (sizes <= typical * _SIZE_RATIO)
    return bool(np.count_nonzero(alike) >= _ALIKE_SHARE * count)


class _Turn:
    """Turning a layer so that a line at `angle` (radians) runs along the rows, and boxes back."""

    def __init__(self, shape: tuple[int, ...], angle: float) -> None:
        rows, columns = shape[0], shape[1]
        self.cos, self.sin = math.cos(angle), math.sin(angle)
        self.shape = (math.ceil(abs(rows * self.cos) + abs(columns * self.sin)),
                      math.ceil(abs(columns * self.cos) + abs(rows * self.sin)))
        self.centre = ((rows - 1) / 2, (columns - 1) / 2)
        self.level_centre = ((self.shape[0] - 1) / 2, (self.shape[1] - 1) / 2)

    def source(self, y: float, x: float) -> tuple[float, float]:
        """Where the point (y, x) of the level layer lies in the layer."""
        dy, dx = y - self.level_centre[0], x - self.level_centre[1]
        return (self.centre[0] + dy * self.cos - dx * self.sin, self.centre[1] + dy * self.sin + dx * self.cos)

    def level(self, pixels: NDArray[np.bool_]) -> NDArray[np.bool_]:
        from scipy import ndimage

        matrix = np.array([[self.cos, -self.sin], [self.sin, self.cos]])
        offset = np.array(self.source(0.0, 0.0))
        turned = ndimage.affine_transform(pixels.astype(np.float32), matrix, offset, self.shape, order=1)
        level: NDArray[np.bool_] = turned >= 0.5
        return level

    def back(self, mark: Rectangle) -> Rectangle:
        """The upright box, in the layer, around a box of the level layer."""
        corners = [self.source(y, x) for y in (mark.y, mark.y + mark.height) for x in (mark.x, mark.x + mark.width)]
        y0, y1 = math.floor(min(c[0] for c in corners)), math.ceil(max(c[0] for c in corners))
        x0, x1 = math.floor(min(c[1] for c in corners)), math.ceil(max(c[1] for c in corners))
        return Rectangle(x0, y0, x1 - x0, y1 - y0)
