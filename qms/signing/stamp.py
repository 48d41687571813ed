"""The visible signature block: printed name, user id, UTC date and time, meaning (§11.50).

Set in an embedded font (DejaVu Sans QMS, see fonts/README.md) so the signed document
stays PDF/A; the text box shrinks to fit but never scales one axis alone, so the
stamped text is not stretched.
"""

from __future__ import annotations

from functools import lru_cache
from importlib.resources import files

from typing import Any

from pyhanko.pdf_utils import layout
from pyhanko.pdf_utils.font.opentype import GlyphAccumulator, GlyphAccumulatorFactory
from pyhanko.pdf_utils.writer import BasePdfFileWriter
from pyhanko.pdf_utils.text import TextBoxStyle
from pyhanko.stamp import TextStampStyle

__all__ = ["block_box", "BLOCK_HEIGHT", "BLOCK_WIDTH", "FONT_NAME", "font_path", "GAP", "MARGIN", "StampFont", "style",
           "text_params"]

FONT_NAME = "DejaVuSansQMS.ttf"
BLOCK_WIDTH = 170
BLOCK_HEIGHT = 62
MARGIN = 36
GAP = 10


def font_path() -> str:
    return str(files("qms.signing") / "fonts" / FONT_NAME)


# The layout tables pyHanko's subset of the stamp font drops (`GlyphAccumulator._extract_subset`).
_DROPPED_BY_SUBSET = ("GDEF", "GSUB", "GPOS")


class StampFont(GlyphAccumulatorFactory):
    """pyHanko's font engine for the stamp, without parsing the layout tables its subset drops anyway.

    fontTools decompiles GDEF, GSUB and GPOS before dropping them: half of each signature's
    font subsetting (~25 ms). Shaping reads the font file through HarfBuzz, never these parsed
    tables, and the font has no `kern` table (whose fate depends on GPOS), so the embedded
    font program and the text's glyphs and widths are the same bytes (tests/signing/test_stamp_font.py).
    """

    def create_font_engine(self, writer: BasePdfFileWriter, obj_stream: Any = None) -> GlyphAccumulator:
        engine = super().create_font_engine(writer, obj_stream)
        for tag in _DROPPED_BY_SUBSET:
            if tag in engine.tt:
                del engine.tt[tag]
        return engine


@lru_cache(maxsize=1)
def style() -> TextStampStyle:
    rule = layout.SimpleBoxLayoutRule(
        x_align=layout.AxisAlignment.ALIGN_MIN, y_align=layout.AxisAlignment.ALIGN_MID,
        margins=layout.Margins(5, 5, 5, 5), inner_content_scaling=layout.InnerScaling.SHRINK_TO_FIT,
    )
    return TextStampStyle(
        stamp_text="%(name)s (%(user_id)s)\nMeaning: %(meaning)s\n%(when)s\n%(how)s",
        text_box_style=TextBoxStyle(font=StampFont(font_path(), font_size=8), leading=10),
        background=None, border_width=1, inner_content_layout=rule,
    )


def block_box(index: int, page_width: float) -> tuple[int, int, int, int]:
    """Where the index-th declared role's block sits: rows of blocks from the page's bottom-left."""
    per_row = max(1, int((page_width - 2 * MARGIN + GAP) // (BLOCK_WIDTH + GAP)))
    row, col = divmod(index, per_row)
    x = MARGIN + col * (BLOCK_WIDTH + GAP)
    y = MARGIN + row * (BLOCK_HEIGHT + GAP)
    return x, y, x + BLOCK_WIDTH, y + BLOCK_HEIGHT


def text_params(name: str, user_id: str, meaning: str, when: str, interactive: bool) -> dict[str, str]:
    how = "electronic signature (21 CFR Part 11)" if interactive else "CI service identity, signed non-interactively"
    return {"name": name, "user_id": user_id, "meaning": meaning, "when": when, "how": how}
