"""Decoding encapsulated Pixel Data to native, and writing it back (RLE when lossless and possible).

Every rewrite is checked by decoding what will be written: pixels that do not decode are
never written (issue 4).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from pydicom.dataelem import DataElement, RawDataElement
from pydicom.dataset import Dataset
from pydicom.pixels.decoders.base import get_decoder
from pydicom.uid import UID, ExplicitVRLittleEndian, RLELossless

from qms.deid.peek import element_at
from qms.deid.pixels.errors import UndecodablePixelData
from qms.deid.pixels.layout import PixelLayout

__all__ = ["check_native_length", "decode", "try_rle", "write_native"]

_PIXEL_DATA = 0x7FE00010
_ENCAPSULATION_ELEMENTS = ("ExtendedOffsetTable", "ExtendedOffsetTableLengths")
_LOSSY = {
    "1.2.840.10008.1.2.4.50": "ISO_10918_1",
    "1.2.840.10008.1.2.4.51": "ISO_10918_1",
    "1.2.840.10008.1.2.4.81": "ISO_14495_1",
}
"""Transfer syntaxes that are always lossy, with their LossyImageCompressionMethod (PS3.3 C.7.6.1.1.5.1)."""


def decode(ds: Dataset, ts: UID, *, raw: bool = False) -> tuple[NDArray[np.generic], dict[str, str | int]]:
    """All frames shaped (frames, rows, columns, samples) and the decoded metadata.

    `raw` keeps stored colour values (no YBR to RGB conversion).
    """
    try:
        decoder = get_decoder(ts)
    except NotImplementedError as exc:
        raise UndecodablePixelData("no decoder is available for this transfer syntax", transfer_syntax=ts) from exc
    try:
        arr, meta = decoder.as_array(ds, raw=raw)
    except Exception as exc:  # every decoder failure means the same thing: quarantine
        raise UndecodablePixelData(f"{type(exc).__name__}: {exc}", transfer_syntax=ts) from exc
    frames = int(meta.get("number_of_frames", 1))
    spp = int(meta.get("samples_per_pixel", 1))
    return arr.reshape(frames, int(meta["rows"]), int(meta["columns"]), spp), meta


def write_native(ds: Dataset, arr: NDArray[np.generic], meta: dict[str, str | int], source: UID) -> UID:
    """Replace encapsulated Pixel Data with native Explicit VR Little Endian data from `arr`.

    Pixels once lossy-compressed stay marked so (PS3.3 C.7.6.1.1.5: LossyImageCompression "01").
    """
    frames, rows, columns, spp = arr.shape
    little = arr.astype(arr.dtype.newbyteorder("<"), copy=False)
    data = little.tobytes()
    if len(data) % 2:
        data += b"\x00"
    bits_allocated = int(meta["bits_allocated"])
    ds["PixelData"] = DataElement(0x7FE00010, "OB" if bits_allocated <= 8 else "OW", data)
    ds.PhotometricInterpretation = str(meta["photometric_interpretation"])
    ds.BitsAllocated = bits_allocated
    ds.SamplesPerPixel = spp
    if spp > 1:
        ds.PlanarConfiguration = 0
    elif "PlanarConfiguration" in ds:
        del ds.PlanarConfiguration
    for keyword in _ENCAPSULATION_ELEMENTS:
        if keyword in ds:
            delattr(ds, keyword)
    if source in _LOSSY:
        ds.LossyImageCompression = "01"
        if "LossyImageCompressionMethod" not in ds:
            ds.LossyImageCompressionMethod = _LOSSY[source]
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    return ExplicitVRLittleEndian


def try_rle(ds: Dataset, expected: NDArray[np.generic]) -> bool:
    """Re-encode native data as RLE Lossless when that decodes back to exactly `expected`."""
    native = ds["PixelData"]
    try:
        ds.compress(RLELossless, generate_instance_uid=False)
        check, _ = decode(ds, RLELossless)
    except Exception:  # no encoder for this layout: stay native
        _restore(ds, native)
        return False
    if check.shape != expected.shape or not np.array_equal(check, expected):
        _restore(ds, native)
        return False
    return True


def _restore(ds: Dataset, native: DataElement) -> None:
    ds["PixelData"] = native
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian


def check_native_length(ds: Dataset, layout: PixelLayout) -> None:
    """Native Pixel Data must hold every frame its Image Pixel module declares."""
    raw = element_at(ds, _PIXEL_DATA)  # as read, its length is its bytes': not converted, so written as it was read
    size = (len(raw.value) if type(raw) is RawDataElement and type(raw.value) is bytes and raw.VR in ("OB", "OW", None)
            else len(ds.PixelData))
    if size < layout.native_bytes:
        raise UndecodablePixelData(
            f"Pixel Data holds {size} bytes, the Image Pixel module needs {layout.native_bytes}",
            transfer_syntax=layout.transfer_syntax,
        )
