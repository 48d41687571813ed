"""Text search by shape on every frame: tiles of thin strokes, then lines of glyph-like components.

No OCR is needed: a line of stroke-like components on a sparse layer (see `views`) is text
whether or not anything can read it, and is masked as such. The columns are searched as the rows
are (the layer transposed): a label turned by 90 degrees is as readable; one tilted by a few degrees is
searched again turned level (`deskew`). Windows whose tiles look like a
line of strokes but whose components do not form one are `undecided`: OCR reads them where it
is available.

Pixels that went through a lossy compression (JPEG baseline, lossy JPEG 2000...) keep few of a
line's pixels at the exact extreme and ring around its strokes: the displayed layers are then
searched without the extreme-value cue, and each line's mask is widened to at least one JPEG
block (`_LOSSY_MARGIN`) so the ringing around it goes too.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from pydicom.dataset import Dataset

from qms.deid.pixels.codec import once_lossy
from qms.deid.pixels.deskew import tilted_marks
from qms.deid.pixels.layout import PixelLayout
from qms.deid.pixels.marks import text_like_marks
from qms.deid.pixels.prefilter import Window, candidate_windows
from qms.deid.pixels.report import Rectangle
from qms.deid.pixels.views import frame_layers, frames_of

__all__ = ["TextRegion", "TextSearch", "search_text"]

_CORE_SHARE = 0.5
"""Share of a text line's pixels at the very extreme of its layer (annotations are drawn saturated)."""
_LOSSY_MARGIN = 8
"""Margin in pixels around a text line in lossy-compressed pixels: a JPEG block, where ringing spreads."""


@dataclass(frozen=True, order=True)
class TextRegion:
    """Where text-like marks are (frame index from 0, rectangle) and on which layer; never the text."""

    frame: int
    rectangle: Rectangle
    view: str


@dataclass(frozen=True)
class TextSearch:
    """What the search found in every frame: text-like lines, and line-shaped windows it cannot decide."""

    regions: tuple[TextRegion, ...]
    undecided: tuple[TextRegion, ...]
    frames: int

    def rectangles(self) -> list[Rectangle]:
        """The distinct rectangles of `regions` (masks apply to every frame)."""
        return sorted({r.rectangle for r in self.regions})


def search_text(ds: Dataset, layout: PixelLayout, frames: NDArray[np.generic] | None = None,
                margin: int = 4) -> TextSearch:
    """Search every frame of `ds` (or the decoded `frames`, shaped as `views.frames_of` gives them)."""
    arr = frames_of(ds, layout) if frames is None else frames
    max_height = max(14, layout.rows // 8)
    lossy = once_lossy(ds, layout.transfer_syntax)
    margin = max(margin, _LOSSY_MARGIN) if lossy else margin
    regions: set[TextRegion] = set()
    undecided: set[TextRegion] = set()
    for index in range(arr.shape[0]):
        for layer in frame_layers(arr[index], ds, layout, lossy):
            # Along the rows, then along the columns: a label written up or down the image (turned by 90
            # degrees) is a line of strokes in the transposed layer; its rectangles are transposed back.
            across = layer.pixels.T
            for turned, pixels, cores in ((False, layer.pixels, layer.core),
                                          (True, across, across if layer.core is layer.pixels else layer.core.T)):
                marks, missed = _lines(pixels, cores, margin, max_height)
                # A line tilted by a few degrees: the layer is searched again turned level (`deskew`).
                tilted = tilted_marks(pixels, cores, [(w.rows, w.columns) for w in missed], max_height,
                                      lambda p, c: _lines(p, c, margin, max_height)[0]) if missed else []
                regions.update(TextRegion(index, _placed(m, turned), layer.view) for m in marks + tilted)
                undecided.update(TextRegion(index, _placed(_box(w), turned), layer.view) for w in missed
                                 if w.line and not any(_overlap(_box(w), m) for m in tilted))
    return TextSearch(tuple(sorted(regions)), tuple(sorted(undecided)), int(arr.shape[0]))


def _lines(pixels: NDArray[np.bool_], cores: NDArray[np.bool_], margin: int,
           max_height: int) -> tuple[list[Rectangle], list[Window]]:
    """Text-like lines of a layer (layer coordinates), and the candidate windows where none was found."""
    marks: list[Rectangle] = []
    missed: list[Window] = []
    for window in candidate_windows(pixels, cores):
        x, y = window.columns.start, window.rows.start
        found = text_like_marks(pixels[window.rows, window.columns], cores[window.rows, window.columns], margin,
                                max_height, _CORE_SHARE)
        marks += [Rectangle(m.x + x, m.y + y, m.width, m.height) for m in found]
        if not found:
            missed.append(window)
    return marks, missed


def _box(window: Window) -> Rectangle:
    x, y = window.columns.start, window.rows.start
    return Rectangle(x, y, window.columns.stop - x, window.rows.stop - y)


def _overlap(a: Rectangle, b: Rectangle) -> bool:
    return a.x < b.x + b.width and b.x < a.x + a.width and a.y < b.y + b.height and b.y < a.y + a.height


def _placed(mark: Rectangle, turned: bool) -> Rectangle:
    """A mark of a layer in the frame's coordinates, transposed back from a turned layer."""
    return Rectangle(mark.y, mark.x, mark.height, mark.width) if turned else mark
