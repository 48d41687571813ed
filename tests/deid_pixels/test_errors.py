"""Pixel data that cannot be decoded is refused with the tag (7FE0,0010) and the transfer syntax named."""

from __future__ import annotations

import numpy as np
import pytest
from pydicom.encaps import encapsulate, generate_frames
from pydicom.uid import UID

from qms.deid.pixels import OcrMode, PixelError, PixelOptions, RegionLibrary, UndecodablePixelData, clean_pixels
from tests.deid_pixels.synthetic import native, shipped

EVERYTHING = PixelOptions(
    region_library=RegionLibrary.from_text("All\n{ true. }\n(0,0,4,4)\n", "all.script"), ocr=OcrMode.OFF
)
NOTHING = PixelOptions(use_region_library=False, ocr=OcrMode.OFF)


def _assert_names_tag_and_syntax(error: PixelError, uid: str) -> None:
    assert error.where == "(7FE0,0010)"
    assert uid in error.message
    assert "(7FE0,0010)" in error.diagnostics()


@pytest.mark.parametrize("options", [EVERYTHING, NOTHING], ids=["masking", "untouched"])
def test_truncated_native_pixels(options: PixelOptions) -> None:
    """Native Pixel Data shorter than Rows x Columns x frames is refused, masked or not."""
    ds = native(np.zeros((2, 16, 16), dtype=np.uint16), Modality="CT")
    ds.PixelData = ds.PixelData[:-100]
    with pytest.raises(UndecodablePixelData) as caught:
        clean_pixels(ds, options)
    _assert_names_tag_and_syntax(caught.value, "1.2.840.10008.1.2.1")


@pytest.mark.parametrize("options", [EVERYTHING, NOTHING], ids=["masking", "untouched"])
@pytest.mark.parametrize("name", ["MR_small_jp2klossless.dcm", "SC_rgb_jpeg_gdcm.dcm", "MR_small_RLE.dcm"])
def test_corrupt_compressed_pixels(name: str, options: PixelOptions) -> None:
    """A compressed frame whose bytes are garbage is refused under its transfer syntax; the dataset is left as it was."""
    ds = shipped(name)
    ds.Modality, ds.Manufacturer, ds.SOPClassUID = "CT", "SYNTHETIC", "1.2.840.10008.5.1.4.1.1.2"
    frames = list(generate_frames(ds.PixelData, number_of_frames=int(ds.get("NumberOfFrames", 1))))
    garbage = bytes(np.random.default_rng(0).integers(0, 256, size=len(frames[0]) // 3, dtype=np.uint8))
    ds.PixelData = encapsulate([garbage, *frames[1:]])
    uid = str(ds.file_meta.TransferSyntaxUID)
    with pytest.raises(UndecodablePixelData) as caught:
        clean_pixels(ds, options)
    _assert_names_tag_and_syntax(caught.value, uid)
    assert str(ds.file_meta.TransferSyntaxUID) == uid


def test_shipped_truncated_file() -> None:
    """pydicom's truncated MR file is refused, not cleaned."""
    ds = shipped("MR_truncated.dcm")
    with pytest.raises(UndecodablePixelData) as caught:
        clean_pixels(ds, EVERYTHING)
    _assert_names_tag_and_syntax(caught.value, "1.2.840.10008.1.2.1")


@pytest.mark.parametrize(
    ("uid", "fragment"),
    [("1.2.3.4.5", None), ("1.2.840.10008.1.2.4.100", b"\x00\x00\x01\xb3" + b"\x00" * 12)],
    ids=["not-a-transfer-syntax", "mpeg2-no-decoder"],
)
def test_transfer_syntax_that_cannot_be_decoded(uid: str, fragment: bytes | None) -> None:
    """A UID that is no transfer syntax, or video (MPEG-2) with no decoder, is refused with that UID."""
    ds = native(np.zeros((1, 4, 4), dtype=np.uint8), Modality="CT")
    ds.file_meta.TransferSyntaxUID = UID(uid)
    if fragment is not None:
        ds.PixelData = encapsulate([fragment])
    with pytest.raises(UndecodablePixelData) as caught:
        clean_pixels(ds, EVERYTHING)
    _assert_names_tag_and_syntax(caught.value, uid)


@pytest.mark.parametrize(("keyword", "value"), [("Rows", None), ("BitsAllocated", 12), ("SamplesPerPixel", 2)])
def test_impossible_image_pixel_module(keyword: str, value: int | None) -> None:
    """Missing Rows, BitsAllocated 12 or two samples per pixel cannot be interpreted: refused."""
    ds = native(np.zeros((1, 4, 4), dtype=np.uint16), Modality="CT")
    if value is None:
        delattr(ds, keyword)
    else:
        setattr(ds, keyword, value)
    with pytest.raises(UndecodablePixelData) as caught:
        clean_pixels(ds, NOTHING)
    assert caught.value.where == "(7FE0,0010)"
