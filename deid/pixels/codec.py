"""Decoding encapsulated Pixel Data to native, and encoding masked pixels back (issues 4 and 19).

An image nothing was masked in is never decoded for writing: its encoded Pixel Data is written
byte for byte as it was read. A masked image is re-encoded (`reencode`) by this rule:

- a lossless original goes back to its own transfer syntax where an encoder is installed
  (RLE Lossless in pydicom; JPEG 2000 Lossless through pylibjpeg-openjpeg; JPEG-LS Lossless
  through pyjpegls); a JPEG 2000 (.91) original stored reversibly goes to JPEG 2000 Lossless;
- a lossy original (JPEG baseline/extended, JPEG-LS near-lossless, JPEG 2000 or HTJ2K marked
  LossyImageCompression 01) is never compressed lossily a second time: that would change pixels
  beyond the masks. It is encoded losslessly, in its codec's lossless syntax where there is one
  (JPEG-LS near-lossless -> JPEG-LS Lossless, JPEG 2000 -> JPEG 2000 Lossless), and keeps
  LossyImageCompression "01" and its method;
- otherwise (no encoder for the syntax, or one that refuses the image, such as OpenJPEG on some
  odd sizes) the first of JPEG-LS Lossless, JPEG 2000 Lossless, RLE Lossless whose encoder is
  installed and takes the image, else native Explicit VR Little Endian. The note returned says
  why the syntax changed, for the manifest.

Every re-encoding is decoded again and compared with the masked pixels: what does not give
them back exactly is not written. Decoders are third-party code that may raise anything on
malformed data, including pyo3's PanicException (a BaseException): every such failure is an
`UndecodablePixelData` (quarantine), only KeyboardInterrupt and SystemExit pass.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from pydicom.dataelem import DataElement, RawDataElement
from pydicom.dataset import Dataset
from pydicom.pixels.decoders.base import get_decoder
from pydicom.tag import BaseTag
from pydicom.uid import (
    UID,
    ExplicitVRLittleEndian,
    HTJ2K,
    JPEG2000,
    JPEG2000Lossless,
    JPEGLSLossless,
    JPEGLSNearLossless,
    RLELossless,
)

from qms.deid.peek import element_at
from qms.deid.pixels.errors import UndecodablePixelData
from qms.deid.pixels.layout import PixelLayout

__all__ = ["check_native_length", "decode", "is_lossy", "once_lossy", "reencode", "try_encode", "write_native"]

_PIXEL_DATA = 0x7FE00010
_ENCAPSULATION_ELEMENTS = ("ExtendedOffsetTable", "ExtendedOffsetTableLengths")
_LOSSY = {
    "1.2.840.10008.1.2.4.50": "ISO_10918_1",
    "1.2.840.10008.1.2.4.51": "ISO_10918_1",
    "1.2.840.10008.1.2.4.81": "ISO_14495_1",
}
"""Transfer syntaxes that are always lossy, with their LossyImageCompressionMethod (PS3.3 C.7.6.1.1.5.1)."""
_LOSSY_OR_NOT = {JPEG2000: "ISO_15444_1", HTJ2K: "ISO_15444_15"}
"""Transfer syntaxes lossy or reversible by the stream: lossy when LossyImageCompression says 01."""
_LOSSLESS_OF = {RLELossless: RLELossless, JPEG2000Lossless: JPEG2000Lossless, JPEGLSLossless: JPEGLSLossless,
                JPEG2000: JPEG2000Lossless, JPEGLSNearLossless: JPEGLSLossless}
"""The lossless syntax of an original's codec (its own when it is lossless): tried first for masked pixels."""
_FALLBACK = (JPEGLSLossless, JPEG2000Lossless, RLELossless)
"""JPEG-LS first: about as small as JPEG 2000, much faster to encode, and dcmtk decodes it (dcmdjpls)."""
_PASS_THROUGH = (KeyboardInterrupt, SystemExit)
_NATIVE_SETS = (0x00280002, 0x00280004, 0x00280006, 0x00280100, 0x00282110, 0x00282114, 0x7FE00001, 0x7FE00002,
                _PIXEL_DATA)
"""Samples per Pixel, Photometric Interpretation, Planar Configuration, Bits Allocated, the lossy attributes,
the extended offset table and its lengths, Pixel Data: what `write_native` may set."""
_ENCODER_SETS = (0x00280004, 0x00280006, 0x00282110, 0x00282112, 0x00282114, _PIXEL_DATA)
"""Photometric Interpretation, Planar Configuration, the lossy compression attributes, Pixel Data."""


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
    except _PASS_THROUGH:
        raise
    except BaseException as exc:  # every decoder failure, a Rust panic too, means the same thing: quarantine
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
    if is_lossy(ds, source):
        ds.LossyImageCompression = "01"
        if "LossyImageCompressionMethod" not in ds:
            ds.LossyImageCompressionMethod = _LOSSY.get(source) or _LOSSY_OR_NOT[source]
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    return ExplicitVRLittleEndian


def encoded_state(ds: Dataset) -> tuple[dict[int, DataElement | RawDataElement | None], str]:
    """The elements `write_native` replaces, as stored, and the transfer syntax: for `restore_encoded`."""
    return {tag: ds._dict.get(BaseTag(tag)) for tag in _NATIVE_SETS}, str(ds.file_meta.TransferSyntaxUID)


def restore_encoded(ds: Dataset, state: tuple[dict[int, DataElement | RawDataElement | None], str]) -> None:
    """Put back what `encoded_state` saw, byte for byte (the elements as they were read)."""
    elements, syntax = state
    for tag, elem in elements.items():
        if elem is not None:
            ds._dict[BaseTag(tag)] = elem
        else:
            ds._dict.pop(BaseTag(tag), None)
    ds.file_meta.TransferSyntaxUID = UID(syntax)


def is_lossy(ds: Dataset, source: str) -> bool:
    """Whether pixel data in `source` was compressed lossily: always for some syntaxes, by the flag for others."""
    return source in _LOSSY or (source in _LOSSY_OR_NOT and str(ds.get("LossyImageCompression", "")).strip() == "01")


def once_lossy(ds: Dataset, syntax: str) -> bool:
    """Whether the pixels went through a lossy compression: a lossy `syntax`, or LossyImageCompression 01
    (which a masked lossy original keeps after its lossless re-encoding)."""
    return is_lossy(ds, syntax) or str(ds.get("LossyImageCompression", "")).strip() == "01"


def reencode(ds: Dataset, source: UID) -> tuple[UID, str | None]:
    """Encode the masked native pixels of `ds` (decoded from `source` by `write_native`) by the module's rule;
    the syntax now to be written, and why it is not `source` (None when it is)."""
    native = UID(ds.file_meta.TransferSyntaxUID)
    if not source.is_compressed:
        return native, None
    lossy = is_lossy(ds, source)  # write_native has marked an always-lossy original 01
    own = _LOSSLESS_OF.get(source)
    expected, _ = decode(ds, native)
    for syntax in ((own,) if own else ()) + tuple(s for s in _FALLBACK if s != own):
        if try_encode(ds, syntax, expected):
            return syntax, None if syntax == source else _why(source, syntax, lossy, own)
    return native, _why(source, native, lossy, own)


def _why(source: UID, written: UID, lossy: bool, own: UID | None) -> str:
    if lossy:
        return (f"masked pixels of a lossy {source.name} original written as {written.name}: a second lossy "
                "compression would change pixels beyond the masks (LossyImageCompression stays 01)")
    if own is None:
        return f"masked pixels written as {written.name}: no encoder for {source.name} is installed"
    if written == own:
        return f"masked pixels written as {written.name}, the lossless syntax of the {source.name} codec"
    return f"masked pixels written as {written.name}: the {own.name} encoder does not take this image"


def try_encode(ds: Dataset, syntax: UID, expected: NDArray[np.generic]) -> bool:
    """Encode native data in `syntax` when its encoder is installed and decoding gives exactly `expected`."""
    before = {tag: ds[tag] for tag in _ENCODER_SETS if tag in ds}  # what compressing may change
    try:
        ds.compress(syntax, generate_instance_uid=False)
        check, _ = decode(ds, syntax)
    except _PASS_THROUGH:
        raise
    except BaseException:  # no encoder, or not for this layout (a Rust panic too): try the next
        _restore(ds, before)
        return False
    if check.shape != expected.shape or not np.array_equal(check, expected):
        _restore(ds, before)
        return False
    return True


def _restore(ds: Dataset, before: dict[int, DataElement]) -> None:
    for tag in _ENCODER_SETS:
        if tag in before:
            ds[tag] = before[tag]
        elif tag in ds:
            del ds[tag]
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
