"""Masking every layout the cleaner meets: masked rectangles blank, every other pixel bit-for-bit intact."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from pydicom.dataset import Dataset
from pydicom.uid import ExplicitVRBigEndian, ExplicitVRLittleEndian, JPEG2000Lossless, JPEGLSLossless, RLELossless

from qms.deid.pixels import OcrMode, PixelOptions, PixelReport, check_regions_blank, clean_pixels
from qms.deid.pixels.layout import transfer_syntax_of
from tests.deid_pixels.synthetic import bits, library_file, native, pixels, region_mask, shipped, written

# pydicom's shipped test files (pydicom/data/test_files, see its README): one per layout.
SHIPPED = {
    "MR_small.dcm": "16-bit signed, Explicit VR Little Endian",
    "MR_small_implicit.dcm": "Implicit VR Little Endian",
    "MR_small_bigendian.dcm": "Explicit VR Big Endian, 16-bit",
    "MR_small_expb.dcm": "Explicit VR Big Endian, 16-bit",
    "MR_small_padded.dcm": "trailing padding after the pixels",
    "MR_small_RLE.dcm": "RLE Lossless",
    "MR_small_jp2klossless.dcm": "JPEG 2000 lossless",
    "MR_small_jpeg_ls_lossless.dcm": "JPEG-LS lossless",
    "JPEG2000.dcm": "JPEG 2000",
    "JPGExtended.dcm": "JPEG extended, 12-bit",
    "JPEGLSNearLossless_08.dcm": "JPEG-LS near lossless 8-bit",
    "JPEGLSNearLossless_16.dcm": "JPEG-LS near lossless 16-bit",
    "SC_rgb_jpeg_gdcm.dcm": "JPEG lossless RGB",
    "SC_rgb_dcmtk_+eb+cy+np.dcm": "JPEG baseline YBR_FULL_422",
    "SC_rgb_jpeg_dcmtk.dcm": "JPEG baseline YBR_FULL",
    "SC_rgb_gdcm_KY.dcm": "JPEG 2000 RGB",
    "examples_jpeg2k.dcm": "JPEG 2000 YBR_RCT",
    "examples_ybr_color.dcm": "JPEG baseline YBR_FULL_422, multi-frame",
    "SC_rgb_rle.dcm": "RLE RGB 8-bit",
    "SC_rgb_rle_16bit_2frame.dcm": "RLE RGB 16-bit, two frames",
    "SC_rgb_rle_32bit_2frame.dcm": "RLE RGB 32-bit, two frames",
    "SC_rgb_small_odd.dcm": "RGB with odd rows and columns",
    "SC_rgb_small_odd_big_endian.dcm": "RGB, Explicit VR Big Endian",
    "SC_ybr_full_422_uncompressed.dcm": "native YBR_FULL_422 (subsampled)",
    "examples_rgb_color.dcm": "native RGB",
    "examples_palette.dcm": "PALETTE COLOR",
    "examples_overlay.dcm": "12 of 16 bits stored",
    "liver_1frame.dcm": "BitsAllocated 1 (segmentation)",
    "liver_expb_1frame.dcm": "BitsAllocated 1, Explicit VR Big Endian",
    "rtdose.dcm": "32-bit, multi-frame, implicit VR",
    "rtdose_expb.dcm": "32-bit, multi-frame, big endian",
    "rtdose_rle.dcm": "RLE 32-bit multi-frame",
    "image_dfl.dcm": "Deflated Explicit VR Little Endian",
}


def _library(tmp_path: Path, ds: Dataset) -> PixelOptions:
    """Options whose only rule matches everything: a small corner box and one crossing the right edge."""
    rows, columns = int(ds.Rows), int(ds.Columns)
    text = f"Every image\n{{ true. }}\n(1,2,5,4) ({columns - 3},{rows // 2},50,3) ({columns + 5},0,4,4)\n"
    return PixelOptions(region_library=library_file(tmp_path, text), ocr=OcrMode.OFF)


def _assert_cleaned(before: np.ndarray, cleaned: Dataset, report: PixelReport) -> None:
    after_file = written(cleaned)
    after = pixels(after_file)
    assert after.shape == before.shape
    inside = region_mask(after.shape[1], after.shape[2], report.regions)
    assert inside.any()
    assert np.array_equal(after[:, ~inside], before[:, ~inside]), "a pixel outside the masked rectangles changed"
    assert check_regions_blank(after_file, report.regions) == []
    assert report.clean_pixel_data


@pytest.mark.filterwarnings("ignore:The pixel data is .* excess padding:UserWarning")  # MR_small_padded, on purpose
@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_shipped_file_masked_without_damage(tmp_path: Path, name: str) -> None:
    """Every shipped layout: the rectangles (clipped to the image) are blank, all else is unchanged."""
    ds = shipped(name)
    source = transfer_syntax_of(ds)
    before = pixels(ds)
    report = clean_pixels(ds, _library(tmp_path, ds))
    _assert_cleaned(before, ds, report)
    rows, columns = int(ds.Rows), int(ds.Columns)
    assert all(r.rectangle.x + r.rectangle.width <= columns and r.rectangle.y + r.rectangle.height <= rows for r in report.regions)
    assert report.source_transfer_syntax == source
    assert report.transfer_syntax == transfer_syntax_of(ds)
    if not source.is_compressed:
        assert not report.decoded and report.transfer_syntax == source
    else:  # re-encoded losslessly, in its own syntax where an encoder takes it (qms.deid.pixels.codec.reencode)
        assert report.decoded and report.transfer_syntax in (RLELossless, JPEGLSLossless, JPEG2000Lossless,
                                                             ExplicitVRLittleEndian)
        own = source in (RLELossless, JPEGLSLossless, JPEG2000Lossless) and int(ds.BitsAllocated) <= 16
        assert not own or report.transfer_syntax == source  # no encoder takes 32-bit data: native, noted
        assert not str(ds.PhotometricInterpretation).startswith("YBR")
    if source.name.startswith(("JPEG Baseline", "JPEG Extended", "JPEG-LS Lossy")):
        assert ds.LossyImageCompression == "01" and ds.LossyImageCompressionMethod


def test_ybr_output_is_labelled_rgb(tmp_path: Path) -> None:
    """Decoded YBR JPEG data is written as RGB, planar configuration 0, the colour space it was decoded to."""
    ds = shipped("SC_rgb_dcmtk_+eb+cy+np.dcm")
    assert ds.PhotometricInterpretation == "YBR_FULL_422"
    clean_pixels(ds, _library(tmp_path, ds))
    out = written(ds)
    assert (out.PhotometricInterpretation, out.PlanarConfiguration, out.SamplesPerPixel) == ("RGB", 0, 3)
    assert out.file_meta.TransferSyntaxUID == JPEGLSLossless  # a lossy original's masked pixels: lossless
    assert out.pixel_array.shape == (int(out.Rows), int(out.Columns), 3)


@pytest.mark.parametrize(
    ("dtype", "photometric", "bits_stored", "expected_blank"),
    [
        (np.uint8, "MONOCHROME2", 8, 0),
        (np.int8, "MONOCHROME2", 8, -128),
        (np.uint16, "MONOCHROME2", 12, 0),
        (np.int16, "MONOCHROME2", 12, -2048),
        (np.uint16, "MONOCHROME1", 12, 4095),
        (np.int16, "MONOCHROME1", 16, 32767),
        (np.uint32, "MONOCHROME2", 32, 0),
    ],
)
@pytest.mark.parametrize("big_endian", [False, True])
def test_grey_layouts(
    tmp_path: Path, dtype: type, photometric: str, bits_stored: int, expected_blank: int, big_endian: bool
) -> None:
    """Grey images of every sample size and sign, both byte orders: blank is the darkest stored value."""
    rng = np.random.default_rng(7)
    info = np.iinfo(dtype)
    low, high = (-(1 << (bits_stored - 1)), (1 << (bits_stored - 1))) if info.min < 0 else (0, 1 << bits_stored)
    arr: np.ndarray = rng.integers(low, high, size=(3, 21, 19), dtype=np.int64).astype(dtype)
    ds = native(arr, photometric=photometric, bits_stored=bits_stored, big_endian=big_endian)
    report = clean_pixels(ds, _library(tmp_path, ds))
    _assert_cleaned(pixels(native(arr, photometric=photometric, bits_stored=bits_stored)), ds, report)
    after = pixels(written(ds))
    inside = region_mask(21, 19, report.regions)
    assert set(np.unique(after[:, inside])) == {expected_blank}
    assert report.transfer_syntax == (ExplicitVRBigEndian if big_endian else ExplicitVRLittleEndian)


@pytest.mark.parametrize("planar", [0, 1])
@pytest.mark.parametrize("big_endian", [False, True])
@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_rgb_planar_configurations(tmp_path: Path, planar: int, big_endian: bool, dtype: type) -> None:
    """RGB with planar configuration 0 and 1, 8 and 16 bits, both byte orders: masked black, rest intact."""
    rng = np.random.default_rng(planar)
    arr: np.ndarray = rng.integers(1, 200, size=(2, 17, 23, 3)).astype(dtype)
    ds = native(arr, photometric="RGB", planar=planar, big_endian=big_endian)
    before = pixels(native(arr, photometric="RGB"))
    report = clean_pixels(ds, _library(tmp_path, ds))
    _assert_cleaned(before, ds, report)
    inside = region_mask(17, 23, report.regions)
    assert not pixels(written(ds))[:, inside].any()


def test_big_endian_eight_bit_ow(tmp_path: Path) -> None:
    """8-bit samples in big-endian OW (byte-swapped words) are masked at the right pixels."""
    arr = np.arange(1, 1 + 2 * 9 * 10, dtype=np.uint16).reshape(2, 9, 10).astype(np.uint8) | 1
    ds = native(arr, big_endian=True)
    swapped = np.frombuffer(arr.tobytes(), dtype="<u2").byteswap().tobytes()
    ds.PixelData = swapped
    ds["PixelData"].VR = "OW"
    before = pixels(ds)
    assert np.array_equal(before[..., 0], arr)
    report = clean_pixels(ds, _library(tmp_path, ds))
    _assert_cleaned(before, ds, report)


@pytest.mark.parametrize(("frames", "rows", "columns"), [(1, 8, 8), (3, 5, 7), (4, 13, 3)])
@pytest.mark.parametrize("photometric", ["MONOCHROME2", "MONOCHROME1"])
def test_one_bit_multi_frame(tmp_path: Path, frames: int, rows: int, columns: int, photometric: str) -> None:
    """BitsAllocated 1, frames not byte aligned: only the masked bits change, in every frame; padding bits kept."""
    rng = np.random.default_rng(rows)
    arr = rng.integers(0, 2, size=(frames, rows, columns), dtype=np.uint8)
    ds = bits(arr, PhotometricInterpretation=photometric)
    original = np.unpackbits(np.frombuffer(ds.PixelData, dtype=np.uint8), bitorder="little")
    total = frames * rows * columns
    original[total:] = 1  # padding bits after the last pixel must survive as they are
    ds.PixelData = np.packbits(original, bitorder="little").tobytes()
    report = clean_pixels(ds, _library(tmp_path, ds))
    _assert_cleaned(arr[..., np.newaxis], ds, report)
    inside = region_mask(rows, columns, report.regions)
    expected = 1 if photometric == "MONOCHROME1" else 0
    assert set(np.unique(pixels(written(ds))[:, inside])) == {expected}
    cleaned = np.unpackbits(np.frombuffer(ds.PixelData, dtype=np.uint8), bitorder="little")
    assert cleaned.size == original.size and np.array_equal(cleaned[total:], original[total:])


def test_palette_masks_with_the_darkest_entry(tmp_path: Path) -> None:
    """PALETTE COLOR is masked with the index of its darkest palette entry, not with zero."""
    ds = shipped("examples_palette.dcm")
    from pydicom.pixels.processing import apply_color_lut

    report = clean_pixels(ds, _library(tmp_path, ds))
    after = pixels(written(ds))
    inside = region_mask(int(ds.Rows), int(ds.Columns), report.regions)
    index = int(np.unique(after[:, inside])[0])
    lut = apply_color_lut(np.arange(256, dtype=np.uint8), ds).astype(float)
    luminance = lut @ np.array([0.299, 0.587, 0.114])
    assert luminance[index] == luminance.min()
