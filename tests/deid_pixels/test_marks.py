"""Text-like marks found without OCR, and joining boxes that share a text line."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image, ImageDraw, ImageFont

from qms.deid.pixels import Rectangle
from qms.deid.pixels.marks import merge_on_lines, text_like_marks

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"


def _rendered(text: str, at: tuple[int, int], size: int, shape: tuple[int, int] = (128, 160)) -> np.ndarray:
    layer = Image.new("L", (shape[1], shape[0]), 0)
    ImageDraw.Draw(layer).text(at, text, fill=255, font=ImageFont.truetype(FONT, size))
    mask: np.ndarray = np.asarray(layer) > 128
    return mask


def test_line_of_glyphs_is_one_mark() -> None:
    """A rendered line of synthetic PHI is found as one box covering every one of its pixels."""
    layer = _rendered("ROE^RICHARD 0042", (3, 0), 11)
    marks = text_like_marks(layer, layer, margin=2)
    assert len(marks) == 1
    r = marks[0]
    covered = np.zeros_like(layer)
    covered[r.y : r.y + r.height, r.x : r.x + r.width] = True
    assert not (layer & ~covered).any()


def test_noise_and_solid_bars_are_not_marks() -> None:
    """Scattered single pixels and a solid bar are not text: no mark."""
    rng = np.random.default_rng(2)
    noise = rng.random((128, 128)) < 0.02
    assert text_like_marks(noise, noise, margin=2) == []
    bar = np.zeros((128, 128), dtype=bool)
    bar[60:70, 10:120] = True
    assert text_like_marks(bar, bar, margin=2) == []


def test_boxes_on_one_line_join_and_other_lines_stay_apart() -> None:
    """Words on one line with a word-sized gap become one box; a word on the next line stays its own."""
    words = [Rectangle(0, 0, 30, 10), Rectangle(40, 1, 20, 9), Rectangle(0, 30, 25, 10)]
    assert merge_on_lines(words) == [Rectangle(0, 0, 60, 10), Rectangle(0, 30, 25, 10)]


boxes = st.lists(
    st.builds(Rectangle, x=st.integers(0, 200), y=st.integers(0, 200), width=st.integers(1, 40), height=st.integers(1, 20)),
    max_size=25,
)


@settings(max_examples=80, deadline=None)
@given(boxes)
def test_merging_never_uncovers_a_box(rectangles: list[Rectangle]) -> None:
    """Every input box lies inside one merged box, and merging twice changes nothing more."""
    merged = merge_on_lines(rectangles)
    for r in rectangles:
        assert any(m.x <= r.x and m.y <= r.y and r.x + r.width <= m.x + m.width and r.y + r.height <= m.y + m.height for m in merged)
    assert len(merged) <= len(rectangles)
    assert merge_on_lines(merged) == merged
