"""Text likelihood in tiles: where a layer holds thin strokes, so the costly search looks only there.

Burned-in text on a layer is many short runs of pixels: per 16-pixel tile, many on/off
transitions along a row and a mean run (stroke) width of a few pixels. Anatomy at an extreme
is a few wide blobs; an empty layer costs one count. Tiles that pass are joined into windows
(with one tile of context on each side) for the component analysis of `marks` and for OCR.
Only numpy and one labelling of the small tile grid: an image without text stays near the
cost of reading it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

__all__ = ["TILE", "Window", "candidate_windows"]

TILE = 16
_MIN_STROKE_PIXELS = 10
_MIN_TRANSITIONS = 6
"""A tile crossed by part of a glyph holds at least this many layer pixels and on/off steps."""
_MAX_STROKE_WIDTH = 6.0
"""Mean length of a run of layer pixels along a row, in pixels: glyph strokes are thin."""
_MAX_FILL = 0.6
"""A tile more than this full is a solid area (a mask, a bar, a bone), not strokes."""
_CORE_SHARE = 0.3
_MIN_WIDE = 2
"""A word of three glyphs spans two tiles; a lone tile is a mark (a laterality letter) or noise."""
_LINE_TILES = 3
"""A cluster at least this many tiles wide and at most a third as high is shaped like a line of text."""


@dataclass(frozen=True)
class Window:
    """A part of the frame (row and column slices) worth the component analysis; `line` if shaped like text."""

    rows: slice
    columns: slice
    line: bool


def candidate_windows(layer: NDArray[np.bool_], core: NDArray[np.bool_] | None = None) -> list[Window]:
    """The windows of `layer` whose tiles look like thin strokes (empty when nothing does).

    `core`: the layer's pixels at its very extreme; when given, a tile needs a share of its
    pixels there (annotations are drawn saturated, noise at a threshold is not).
    """
    rows, columns = layer.shape
    counts = _per_tile(layer)
    strokes = (counts >= _MIN_STROKE_PIXELS) & (counts <= _MAX_FILL * TILE * TILE)
    if np.count_nonzero(strokes[:, :-1] & strokes[:, 1:]) == 0:  # no two tiles side by side: no word
        return []
    flips = np.zeros_like(layer)
    np.not_equal(layer[:, 1:], layer[:, :-1], out=flips[:, 1:])
    transitions = _per_tile(flips)
    strokes &= (transitions >= _MIN_TRANSITIONS) & (2 * counts <= _MAX_STROKE_WIDTH * transitions)
    if strokes.any() and core is not None and core is not layer:
        strokes &= _per_tile(core) >= _CORE_SHARE * counts
    if not strokes.any():
        return []
    from scipy import ndimage  # only for a frame with strokes: a worker that meets none skips scipy's import

    labels, _ = ndimage.label(strokes, structure=np.ones((3, 3), dtype=bool))
    windows: list[Window] = []
    for found in ndimage.find_objects(labels):
        if found is None or found[1].stop - found[1].start < _MIN_WIDE:
            continue
        tr, tc = found
        high, wide = tr.stop - tr.start, tc.stop - tc.start
        windows.append(Window(
            slice(max(0, (tr.start - 1) * TILE), min(rows, (tr.stop + 1) * TILE)),
            slice(max(0, (tc.start - 1) * TILE), min(columns, (tc.stop + 1) * TILE)),
            wide >= _LINE_TILES and 3 * high <= wide,
        ))
    return windows


def _per_tile(pixels: NDArray[np.bool_]) -> NDArray[np.int32]:
    """Count of set pixels in each TILE x TILE tile (the last row and column of tiles may be partial).

    Rows are added band by band first (contiguous, vectorised), then each band's columns.
    """
    rows, columns = pixels.shape
    pad_r, pad_c = -rows % TILE, -columns % TILE
    padded = np.pad(pixels, ((0, pad_r), (0, pad_c))) if pad_r or pad_c else np.ascontiguousarray(pixels)
    high, wide = padded.shape
    bands = np.add.reduce(padded.view(np.uint8).reshape(high // TILE, TILE, wide), axis=1, dtype=np.uint16)
    counts: NDArray[np.int32] = np.add.reduce(bands.reshape(high // TILE, wide // TILE, TILE), axis=2, dtype=np.int32)
    return counts
