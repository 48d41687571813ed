"""Pixel data keeps its encoding: unmasked bytes unchanged, masked pixels re-encoded by the stated rule."""

from __future__ import annotations

import json
from io import BytesIO
from pathlib import Path

import numpy as np
import pytest
from pydicom import dcmread
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset
from pydicom.uid import JPEG2000Lossless, JPEGLSLossless, RLELossless

from qms.deid.dataset import Deidentifier
from qms.deid.growth import GROWTH_LIMIT, growth_note
from qms.deid.keying import DeidKey
from qms.deid.manifest import MANIFEST
from qms.deid.options import DeidOptions
from qms.deid.pipeline import run_batch
from qms.deid.pixels import OcrMode, PixelOptions
from qms.deid.reader import Deidentified, deidentify_bytes
from tests.deid.manifests import manifest_of

KEY = DeidKey(bytes(range(32)))
# Files shipped inside the installed pydicom package (never downloaded), by their pixel encoding.
LOSSLESS_WITH_ENCODER = {"MR_small_RLE.dcm": RLELossless, "SC_rgb_rle.dcm": RLELossless,
                         "MR_small_jp2klossless.dcm": JPEG2000Lossless, "GDCMJ2K_TextGBR.dcm": JPEG2000Lossless,
                         "MR_small_jpeg_ls_lossless.dcm": JPEGLSLossless}
LOSSY = ("SC_rgb_jpeg_dcmtk.dcm", "SC_rgb_small_odd_jpeg.dcm", "JPEG2000.dcm", "693_J2KI.dcm",
         "JPEGLSNearLossless_16.dcm")
NO_ENCODER = ("SC_rgb_jpeg_gdcm.dcm",)  # JPEG Lossless, Process 14 SV1: pydicom has no encoder for it
COMPRESSED = (*LOSSLESS_WITH_ENCODER, *LOSSY, *NO_ENCODER)
MASK = (0, 0, 6, 5)  # x, y, width, height


def _data(name: str) -> bytes:
    path = get_testdata_file(name, download=False)
    assert isinstance(path, str), name
    return Path(path).read_bytes()


@pytest.fixture(scope="module")
def mask_rule(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A region-library script that masks MASK on every image (CTP DicomPixelAnonymizer syntax)."""
    path = tmp_path_factory.mktemp("library") / "every-image.script"
    path.write_text('{ Rows.isGreaterThan("0") }\n(%d,%d,%d,%d)\n' % MASK)
    return path


def _run(data: bytes, options: PixelOptions) -> tuple[Deidentified, Dataset, Dataset]:
    result = deidentify_bytes(data, Deidentifier(KEY, DeidOptions()), options)
    return result, dcmread(BytesIO(data)), dcmread(BytesIO(result.data))


@pytest.mark.parametrize("name", COMPRESSED)
def test_unmasked_pixel_data_keeps_its_bytes(name: str) -> None:
    """A compressed image in which nothing is masked is written in its transfer syntax with its Pixel Data byte for byte."""
    result, before, after = _run(_data(name), PixelOptions(ocr=OcrMode.OFF))
    assert result.pixels is not None and result.pixels["regions"] == []
    assert after.file_meta.TransferSyntaxUID == before.file_meta.TransferSyntaxUID
    assert after.PixelData == before.PixelData
    assert after.PhotometricInterpretation == before.PhotometricInterpretation


@pytest.mark.external
@pytest.mark.parametrize("name", ("MR_small_RLE.dcm", "MR_small_jp2klossless.dcm", "SC_rgb_jpeg_dcmtk.dcm", "JPEG2000.dcm"))
def test_pixels_decoded_for_ocr_but_not_masked_keep_their_bytes(name: str) -> None:
    """An image decoded for OCR (tesseract) in which nothing is found keeps its encoded Pixel Data byte for byte."""
    result, before, after = _run(_data(name), PixelOptions(ocr=OcrMode.ALWAYS))
    assert result.pixels is not None and result.pixels["ocr_ran"] and result.pixels["regions"] == []
    assert after.file_meta.TransferSyntaxUID == before.file_meta.TransferSyntaxUID
    assert after.PixelData == before.PixelData


def _outside_mask_equal(before: Dataset, after: Dataset, result: Deidentified) -> None:
    """Every pixel outside the masked rectangle decodes to what the original decodes to; inside it, one value."""
    assert result.pixels is not None
    [region] = result.pixels["regions"]
    x, y, w, h = region["rectangle"]
    assert (x, y) == MASK[:2]  # clipped to a small image, widened to even columns for YBR_FULL_422
    old, new = before.pixel_array, after.pixel_array
    assert old.shape == new.shape
    keep = np.ones(old.shape[:2], dtype=bool)
    keep[y:y + h, x:x + w] = False
    assert np.array_equal(old[keep], new[keep])
    assert np.unique(new[~keep].reshape(h * w, -1), axis=0).shape[0] == 1


@pytest.mark.parametrize(("name", "syntax"), sorted(LOSSLESS_WITH_ENCODER.items()))
def test_masked_lossless_pixels_are_reencoded_in_their_own_syntax(name: str, syntax: str, mask_rule: Path) -> None:
    """A masked lossless original is written in its own transfer syntax, every pixel outside the mask unchanged."""
    result, before, after = _run(_data(name), PixelOptions(ocr=OcrMode.OFF, region_library=mask_rule))
    assert result.pixels is not None and result.pixels["regions"]
    assert after.file_meta.TransferSyntaxUID == syntax == before.file_meta.TransferSyntaxUID
    assert result.pixels["notes"] == [] or all("syntax" not in n for n in result.pixels["notes"])
    _outside_mask_equal(before, after, result)


@pytest.mark.parametrize("name", LOSSY)
def test_masked_lossy_pixels_are_encoded_losslessly_and_stay_marked_lossy(name: str, mask_rule: Path) -> None:
    """A masked lossy original is never compressed lossily again: a lossless syntax, LossyImageCompression 01, a note why."""
    result, before, after = _run(_data(name), PixelOptions(ocr=OcrMode.OFF, region_library=mask_rule))
    assert result.pixels is not None
    assert after.file_meta.TransferSyntaxUID in (JPEG2000Lossless, JPEGLSLossless, RLELossless)
    assert after.LossyImageCompression == "01" and after.LossyImageCompressionMethod
    assert any("second lossy compression" in note for note in result.pixels["notes"])
    _outside_mask_equal(before, after, result)


@pytest.mark.parametrize("name", NO_ENCODER)
def test_masked_pixels_without_an_encoder_for_their_syntax_say_why(name: str, mask_rule: Path) -> None:
    """A masked lossless original with no encoder for its syntax is written JPEG-LS Lossless, and the note says why."""
    result, before, after = _run(_data(name), PixelOptions(ocr=OcrMode.OFF, region_library=mask_rule))
    assert result.pixels is not None
    assert after.file_meta.TransferSyntaxUID == JPEGLSLossless
    assert any("no encoder" in note for note in result.pixels["notes"])
    assert "LossyImageCompression" not in after or after.LossyImageCompression != "01"
    _outside_mask_equal(before, after, result)


def test_growth_note_names_the_reason() -> None:
    """No note up to 1.1 times the input; above it, masked pixels encoded again are named, else the header's growth."""
    assert growth_note(1000, int(1000 * GROWTH_LIMIT), None) is None
    pixels = {"decoded": True, "transfer_syntax": JPEG2000Lossless, "source_transfer_syntax": "1.2.840.10008.1.2.4.50"}
    assert "as JPEG 2000 Image Compression (Lossless Only)" in (growth_note(1000, 5000, pixels) or "")
    same = {**pixels, "source_transfer_syntax": JPEG2000Lossless}
    assert "in its own syntax" in (growth_note(1000, 5000, same) or "")
    assert "header grew by 800 bytes" in (growth_note(1000, 1800, None) or "")


def test_no_output_over_1_1_times_its_input_without_a_reason(tmp_path: Path, mask_rule: Path) -> None:
    """In a batch of compressed files, masked and not, every output over 1.1x its input has a growth note, and only those."""
    src, out = tmp_path / "in", tmp_path / "out"
    for folder in ("plain", "masked"):
        (src / folder).mkdir(parents=True)
        for name in COMPRESSED:
            (src / folder / name).write_bytes(_data(name))
    plain = run_batch(src, out, KEY, DeidOptions(), pixels=PixelOptions(ocr=OcrMode.OFF), exclude=["masked/*"])
    masked = run_batch(src, out, KEY, DeidOptions(), pixels=PixelOptions(ocr=OcrMode.OFF, region_library=mask_rule))
    assert plain.quarantined == masked.quarantined == () and masked.skipped == len(COMPRESSED)
    entries = manifest_of(out)["files"]
    assert len(entries) == 2 * len(COMPRESSED)
    sizes = {p.relative_to(src).as_posix(): p.stat().st_size for p in src.rglob("*.dcm")}
    for entry in entries:
        grew = (out / entry["output"]).stat().st_size > sizes[entry["output"]] * GROWTH_LIMIT
        assert grew == ("growth" in entry), entry["output"]
