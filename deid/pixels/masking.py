"""Blank rectangles in native (uncompressed) Pixel Data by rewriting only their stored bytes.

Working on the encoded bytes, not a decoded copy, is what keeps every pixel outside the
rectangles bit-for-bit as it was: byte order, unused high bits, bit packing and trailing
padding are never re-encoded.
"""

from __future__ import annotations

import numpy as np
from pydicom.dataset import Dataset

from qms.deid.pixels.errors import UndecodablePixelData
from qms.deid.pixels.layout import PixelLayout
from qms.deid.pixels.report import Rectangle

__all__ = ["mask_native"]


def mask_native(ds: Dataset, layout: PixelLayout, rectangles: list[Rectangle]) -> list[Rectangle]:
    """Blank `rectangles` (already clipped) in every frame; returns the rectangles actually blanked.

    YBR_FULL_422 stores two pixels per chroma pair, so its rectangles widen to even columns.
    """
    data = ds.PixelData
    if len(data) < layout.native_bytes:
        raise UndecodablePixelData(
            f"Pixel Data holds {len(data)} bytes, the Image Pixel module needs {layout.native_bytes}",
            transfer_syntax=layout.transfer_syntax,
        )
    blank = layout.blank(ds)
    if layout.bits_allocated == 1:
        new, done = _mask_bits(data, layout, rectangles, blank[0]), rectangles
    elif layout.photometric_interpretation == "YBR_FULL_422" and layout.bits_allocated == 8:
        new, done = _mask_ybr_422(data, layout, rectangles, blank)
    else:
        new, done = _mask_words(data, layout, rectangles, blank, _swapped_ow(ds, layout)), rectangles
    ds.PixelData = new
    return done


def _swapped_ow(ds: Dataset, layout: PixelLayout) -> bool:
    """8-bit samples in big-endian OW are byte-swapped within each 16-bit word (PS3.5 8.1.1)."""
    return (not layout.transfer_syntax.is_little_endian) and layout.bits_allocated == 8 and ds["PixelData"].VR == "OW"


def _mask_words(
    data: bytes, layout: PixelLayout, rectangles: list[Rectangle], blank: tuple[int, ...], swapped: bool
) -> bytes:
    order = "<" if layout.transfer_syntax.is_little_endian else ">"
    kind = "i" if layout.signed else "u"
    dtype = np.dtype(f"{order}{kind}{layout.bits_allocated // 8}")
    buffer = bytearray(data)
    words = np.frombuffer(buffer, dtype="<u2", count=len(buffer) // 2) if swapped else None
    if words is not None:
        words.byteswap(inplace=True)
    arr = np.frombuffer(buffer, dtype=dtype, count=layout.native_bytes // dtype.itemsize)
    frames, rows, cols, spp = layout.frames, layout.rows, layout.columns, layout.samples_per_pixel
    if spp == 1 or layout.planar_configuration == 0:
        pixels = arr.reshape(frames, rows, cols, spp)
        for r in rectangles:
            pixels[:, r.y : r.y + r.height, r.x : r.x + r.width, :] = np.asarray(blank[:spp], dtype=dtype)
    else:
        planes = arr.reshape(frames, spp, rows, cols)
        for r in rectangles:
            for s in range(spp):
                planes[:, s, r.y : r.y + r.height, r.x : r.x + r.width] = blank[s]
    if words is not None:
        words.byteswap(inplace=True)
    return bytes(buffer)


def _mask_bits(data: bytes, layout: PixelLayout, rectangles: list[Rectangle], value: int) -> bytes:
    """BitsAllocated 1: frames are packed back to back, least significant bit first (PS3.5 8.1.1)."""
    bits = np.unpackbits(np.frombuffer(data, dtype=np.uint8), bitorder="little")
    total = layout.frames * layout.rows * layout.columns
    view = bits[:total].reshape(layout.frames, layout.rows, layout.columns)
    for r in rectangles:
        view[:, r.y : r.y + r.height, r.x : r.x + r.width] = value & 1
    return np.packbits(bits, bitorder="little").tobytes()


def _mask_ybr_422(
    data: bytes, layout: PixelLayout, rectangles: list[Rectangle], blank: tuple[int, ...]
) -> tuple[bytes, list[Rectangle]]:
    """YBR_FULL_422 native: each pair of pixels is stored as Y1 Y2 Cb Cr (PS3.3 C.7.6.3.1.2)."""
    raw = bytearray(data)
    arr = np.frombuffer(bytes(raw[: layout.native_bytes]), dtype=np.uint8).copy()
    view = arr.reshape(layout.frames, layout.rows, layout.columns // 2, 4)
    done: list[Rectangle] = []
    for r in rectangles:
        x0 = r.x - r.x % 2
        x1 = min(r.x + r.width + (r.x + r.width) % 2, layout.columns - layout.columns % 2)
        if x1 <= x0:
            continue
        pairs = view[:, r.y : r.y + r.height, x0 // 2 : x1 // 2, :]
        pairs[..., 0:2] = blank[0]
        pairs[..., 2] = blank[1]
        pairs[..., 3] = blank[2]
        done.append(Rectangle(x0, r.y, x1 - x0, r.height))
    raw[: layout.native_bytes] = arr.tobytes()
    return bytes(raw), done
