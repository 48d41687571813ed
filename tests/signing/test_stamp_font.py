"""The stamp's font engine skips parsing the layout tables its subset drops: the embedded font and text are the same bytes."""

from __future__ import annotations

import io
import re

import pytest
from fontTools.ttLib import TTFont
from fontTools.ttLib.tables import _h_e_a_d
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.font.opentype import GlyphAccumulatorFactory
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.pdf_utils.writer import PdfFileWriter

from qms.signing.stamp import StampFont, font_path

# Synthetic signers' stamp texts: Latin with diacritics, Greek, Cyrillic, digits and punctuation.
TEXTS = [
    "Rui Reviewer (rui)\nMeaning: reviewed\n2026-12-06 12:00:01 UTC\nelectronic signature (21 CFR Part 11)",
    "Zoë Ångström-Øre (zoe.a)\nMeaning: approved\n1999-01-31 23:59:59 UTC\nCI service identity, signed non-interactively",
    "Ελένη Παπαδοπούλου (eleni)\nMeaning: authored\n2030-07-04 00:00:00 UTC",
    "Иван Петров (ivan)\nMeaning: authored — “quoted” €5 ‰",
]


def _embedded(factory: GlyphAccumulatorFactory, text: str) -> tuple[bytes, list[object]]:
    """The shaped text's operators and every object the engine writes (font program, widths, ToUnicode, descriptors)."""
    writer = PdfFileWriter()
    engine = factory.create_font_engine(writer)
    ops = engine.shape(text).graphics_ops
    engine.prepare_write()
    out = io.BytesIO()
    writer.write(out)
    reader = PdfFileReader(out)
    info = reader.trailer_view.raw_get("/Info")
    objects: list[object] = []
    for ref in reader.xrefs.explicit_refs_in_revision(0):
        obj = reader.get_object(ref)
        if ref.idnum == info.idnum or isinstance(obj, generic.StreamObject) and obj.get("/Type") == "/XRef":
            continue  # the document's dates and random /ID: the writer's, not the font engine's
        value = obj.data if isinstance(obj, generic.StreamObject) else obj
        objects.append(re.sub(r"[A-Z]{6}\+", "SUBSET+", str(value)))  # pyHanko draws a random subset prefix
    return ops, objects


@pytest.mark.parametrize("text", TEXTS)
def test_the_stamp_font_embeds_the_same_bytes_as_pyhanko_s_own_engine(text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """For each text, StampFont shapes the same glyphs and embeds the same font subset, widths and ToUnicode map."""
    monkeypatch.setattr(_h_e_a_d, "timestampNow", lambda: 3_000_000_000)  # the subset's head.modified is the clock's
    stock = _embedded(GlyphAccumulatorFactory(font_path(), font_size=8), text)
    ours = _embedded(StampFont(font_path(), font_size=8), text)
    assert ours == stock and len(stock[1]) >= 4


def test_the_stamp_font_has_no_kern_table() -> None:
    """The subset keeps a legacy `kern` table only when GPOS is absent: the font must not have one for the skip to be neutral."""
    font = TTFont(font_path())
    assert "kern" not in font and {"GPOS", "GSUB", "GDEF"} <= set(font.keys())
