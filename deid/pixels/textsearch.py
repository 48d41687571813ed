"""Text search by shape on every frame: tiles of thin strokes, then lines of glyph-like components.

No OCR is needed: a line of stroke-like components on a sparse layer (see `views`) is text
whether or not anything can read it, and is masked as such. The columns are searched as the rows
are (the layer transposed): a label turned by 90 degrees is as readable. Windows whose tiles look like a
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
from qms.deid.pixels.layout import PixelLayout
from qms.deid.pixels.marks import text_like_marks
from qms.deid.pixels.prefilter import candidate_windows
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
            for turned, pixels, cores in ((False, layer.pixels, layer.core), (True, layer.pixels.T, layer.core.T)):
                for window in candidate_windows(pixels, cores):
                    crop, core = pixels[window.rows, window.columns], cores[window.rows, window.columns]
                    x, y = window.columns.start, window.rows.start
                    box = Rectangle(x, y, window.columns.stop - x, window.rows.stop - y)
                    marks = [_placed(m, x, y, turned) for m in text_like_marks(crop, core, margin, max_height,
                                                                                _CORE_SHARE)]
                    regions.update(TextRegion(index, m, layer.view) for m in marks)
                    if not marks and window.line:
                        undecided.add(TextRegion(index, _placed(box, 0, 0, turned), layer.view))
    return TextSearch(tuple(sorted(regions)), tuple(sorted(undecided)), int(arr.shape[0]))


def _placed(mark: Rectangle, x: int, y: int, turned: bool) -> Rectangle:
    """A mark of a window at (x, y) in the frame's coordinates, transposed back from a turned layer."""
    if turned:
        return Rectangle(mark.y + y, mark.x + x, mark.height, mark.width)
    return Rectangle(mark.x + x, mark.y + y, mark.width, mark.height)
