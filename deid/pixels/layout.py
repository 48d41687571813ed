"""The Image Pixel module of a dataset as one validated value, and the blank value per layout."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from pydicom.dataset import Dataset
from pydicom.uid import UID, ExplicitVRLittleEndian

from qms.deid.peek import peek_value, transfer_syntax
from qms.deid.pixels.errors import UndecodablePixelData

__all__ = ["PixelLayout", "darkest_palette_index", "transfer_syntax_of"]

_SUPPORTED_BITS = (1, 8, 16, 32)


def transfer_syntax_of(ds: Dataset) -> UID:
    """The dataset's transfer syntax: file meta first, then how it was read, else Explicit VR LE."""
    meta = getattr(ds, "file_meta", None)
    if meta is not None and 0x00020010 in meta._dict:
        ts = transfer_syntax(meta)
        return ts if type(ts) is UID else UID(ts)
    implicit, little = ds.original_encoding
    if implicit is None:
        return ExplicitVRLittleEndian
    return UID("1.2.840.10008.1.2" if implicit else ("1.2.840.10008.1.2.1" if little else "1.2.840.10008.1.2.2"))


@dataclass(frozen=True)
class PixelLayout:
    """Rows, columns, frames, samples and how each sample is stored (PS3.3 C.7.6.3)."""

    rows: int
    columns: int
    frames: int
    samples_per_pixel: int
    bits_allocated: int
    bits_stored: int
    signed: bool
    planar_configuration: int
    photometric_interpretation: str
    transfer_syntax: UID

    @classmethod
    def from_dataset(cls, ds: Dataset) -> PixelLayout:
        ts = transfer_syntax_of(ds)
        try:
            rows, columns = int(peek_value(ds, 0x00280010)), int(peek_value(ds, 0x00280011))
            bits_allocated = int(peek_value(ds, 0x00280100))
            samples = int(peek_value(ds, 0x00280002, 1) or 1)
            bits_stored = int(peek_value(ds, 0x00280101, bits_allocated) or bits_allocated)
            signed = int(peek_value(ds, 0x00280103, 0) or 0) == 1
            planar = int(peek_value(ds, 0x00280006, 0) or 0)
            frames = int(peek_value(ds, 0x00280008, 1) or 1)
            photometric = str(peek_value(ds, 0x00280004, "")).strip().upper()
        except (AttributeError, TypeError, ValueError) as exc:
            raise UndecodablePixelData(f"the Image Pixel module is incomplete or invalid ({exc})", transfer_syntax=ts) from exc
        if rows <= 0 or columns <= 0 or frames <= 0 or samples not in (1, 3, 4):
            raise UndecodablePixelData(
                f"impossible geometry: Rows {rows}, Columns {columns}, NumberOfFrames {frames}, SamplesPerPixel {samples}",
                transfer_syntax=ts,
            )
        if bits_allocated not in _SUPPORTED_BITS or not 0 < bits_stored <= bits_allocated:
            raise UndecodablePixelData(
                f"unsupported BitsAllocated {bits_allocated} / BitsStored {bits_stored}", transfer_syntax=ts
            )
        return cls(rows, columns, frames, samples, bits_allocated, bits_stored, signed, planar, photometric, ts)

    @property
    def native_frame_bytes(self) -> int:
        """Bytes of one frame in a native (uncompressed) encoding; 1-bit frames are not byte aligned."""
        pixels = self.rows * self.columns * self.samples_per_pixel
        if self.photometric_interpretation == "YBR_FULL_422":
            pixels = self.rows * self.columns * 2
        return (pixels * self.bits_allocated + 7) // 8

    @property
    def native_bytes(self) -> int:
        if self.bits_allocated == 1:
            return (self.rows * self.columns * self.frames * self.samples_per_pixel + 7) // 8
        return self.native_frame_bytes * self.frames

    def blank(self, ds: Dataset) -> tuple[int, ...]:
        """The stored sample values of a blank (black) pixel, one per sample.

        MONOCHROME2: the lowest value; MONOCHROME1: the highest; RGB: zero; YBR: Y zero,
        chroma at mid-range; PALETTE COLOR: the index of the darkest palette entry.
        """
        low = -(1 << (self.bits_stored - 1)) if self.signed else 0
        high = (1 << (self.bits_stored - 1)) - 1 if self.signed else (1 << self.bits_stored) - 1
        pi = self.photometric_interpretation
        if pi == "MONOCHROME1":
            return (high,)
        if pi == "PALETTE COLOR":
            return (darkest_palette_index(ds),)
        if pi.startswith("YBR"):
            mid = 1 << (self.bits_stored - 1)
            return (0, mid, mid)
        return (low,) * self.samples_per_pixel


def darkest_palette_index(ds: Dataset) -> int:
    """The stored index whose palette colour has the lowest luminance (first such entry)."""
    from pydicom.pixels.processing import apply_color_lut

    descriptor = ds.RedPaletteColorLookupTableDescriptor
    entries = int(descriptor[0]) or 65536
    first = int(descriptor[1])
    indices = np.arange(first, first + entries, dtype=np.uint16)
    colours = apply_color_lut(indices, ds).astype(np.float64)
    luminance = 0.299 * colours[..., 0] + 0.587 * colours[..., 1] + 0.114 * colours[..., 2]
    return int(first + int(np.argmin(luminance)))
