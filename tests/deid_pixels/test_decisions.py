"""What gets masked, what is refused, and what is recorded: library rules, BurnedInAnnotation, OCR policy."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from qms.deid.pixels import (
    CLEAN_PIXEL_DATA_CODE,
    CleaningRefused,
    OcrMode,
    PixelError,
    PixelOptions,
    Rectangle,
    RegionLibrary,
    RegionSource,
    clean_pixels,
    planned_regions,
)
from tests.deid_pixels.synthetic import header, library_file, native, pixels

OFF = PixelOptions(ocr=OcrMode.OFF)


def _image(rows: int = 64, columns: int = 64) -> np.ndarray:
    return np.full((1, rows, columns), 1000, dtype=np.uint16)


def test_matching_library_rule_is_applied() -> None:
    """A header matching a shipped rule (Canon CXDI, 2592 rows) gets that rule's rectangles, named by file:line."""
    ds = native(_image(2592, 2208), Manufacturer="Canon Inc.", ManufacturerModelName="CXDI-701C")
    report = clean_pixels(ds, OFF)
    assert [r.rectangle for r in report.regions] == [Rectangle(0, 0, 2208, 80), Rectangle(0, 2512, 2208, 80)]
    assert {r.source for r in report.regions} == {RegionSource.REGION_LIBRARY}
    assert all(r.rule.startswith("ctp-burned-in-annotation-library.script:") for r in report.regions)
    assert report.clean_pixel_data and report.to_json()["clean_pixel_data"] is True
    assert not pixels(ds)[0, :80].any() and pixels(ds)[0, 80:2512].min() == 1000


def test_no_rule_and_no_flag_leaves_pixels_alone() -> None:
    """An image of a known device with no matching rule and no flag is returned untouched, nothing recorded."""
    ds = native(_image(), Modality="CT", Manufacturer="SYNTHETIC")
    before = bytes(ds.PixelData)
    report = clean_pixels(ds, OFF)
    assert report.regions == () and not report.clean_pixel_data and not report.decoded
    assert ds.PixelData == before and "BurnedInAnnotation" not in ds


def test_flagged_image_without_rule_or_detection_is_refused() -> None:
    """BurnedInAnnotation YES with no matching rule and no text found by any search is refused, naming the element."""
    ds = native(_image(), BurnedInAnnotation="YES")
    before = bytes(ds.PixelData)
    with pytest.raises(CleaningRefused) as caught:
        clean_pixels(ds, OFF)
    assert isinstance(caught.value, PixelError)
    assert caught.value.where == "(0028,0301) BurnedInAnnotation"
    assert "found no text" in caught.value.message
    assert ds.PixelData == before and ds.BurnedInAnnotation == "YES"


@pytest.mark.parametrize(
    "attributes",
    [{"Modality": "US"}, {"Modality": "SC"}, {"SOPClassUID": "1.2.840.10008.5.1.4.1.1.7"}, {"Manufacturer": ""}],
)
def test_image_needing_detection_is_searched_by_shape_when_ocr_is_off(attributes: dict[str, object]) -> None:
    """Ultrasound, secondary captures and images of unknown provenance are searched without OCR, not refused."""
    ds = native(_image())
    for keyword, value in attributes.items():
        setattr(ds, keyword, value)
    before = bytes(ds.PixelData)
    report = clean_pixels(ds, OFF)
    assert report.text_searched and not report.ocr_ran and report.regions == ()
    assert ds.PixelData == before


def test_missing_tesseract_is_a_note_or_a_refusal_when_ocr_is_required() -> None:
    """A missing tesseract is noted where the shape search stands in, and refused where OCR is set to always."""
    ds = native(_image(), Modality="US")
    report = clean_pixels(ds, PixelOptions(tesseract_cmd="/nonexistent/tesseract"))
    assert report.text_searched and "/nonexistent/tesseract" in report.notes[0]
    with pytest.raises(CleaningRefused) as caught:
        clean_pixels(ds, PixelOptions(tesseract_cmd="/nonexistent/tesseract", ocr=OcrMode.ALWAYS))
    assert "/nonexistent/tesseract" in caught.value.message


def test_flagged_image_cleaned_by_rule_and_searched_again_becomes_no() -> None:
    """A flagged image masked by a rule, whose every frame the text search then finds clean, is marked NO."""
    ds = native(_image(512, 512), Modality="CT", Manufacturer="GE MEDICAL SYSTEMS", BurnedInAnnotation="YES")
    report = clean_pixels(ds, OFF)
    assert [r.rectangle for r in report.regions] == [Rectangle(0, 0, 512, 25)]
    assert report.regions[0].source is RegionSource.BURNED_IN_ANNOTATION
    assert report.text_searched and report.burned_in_annotation == "NO" and ds.BurnedInAnnotation == "NO"


def test_clean_pixel_data_code_is_cid_7050_113101() -> None:
    """The code recorded for cleaned pixels is CID 7050 (113101, DCM, Clean Pixel Data Option)."""
    assert CLEAN_PIXEL_DATA_CODE == ("113101", "DCM", "Clean Pixel Data Option")


def test_dataset_without_pixels_is_reported_as_such() -> None:
    """A dataset without Pixel Data (a structured report) passes with nothing masked."""
    ds = header(1, 1)
    del ds.Rows, ds.Columns
    report = clean_pixels(ds, OFF)
    assert report.regions == () and report.transfer_syntax == ds.file_meta.TransferSyntaxUID


def test_library_can_be_switched_off_and_replaced(tmp_path: Path) -> None:
    """With the library off no rule applies; a replacement library, parsed or by path, applies its own rules."""
    ds = native(_image(2592, 2208), Manufacturer="Canon Inc.", ManufacturerModelName="CXDI-701C")
    assert planned_regions(ds, PixelOptions(use_region_library=False)) == []
    own = RegionLibrary.from_text('Site\n{ Manufacturer.startsWith("Canon") }\n(10,10,5,5)\n', "site.script")
    assert [r.rectangle for r in planned_regions(ds, PixelOptions(region_library=own))] == [Rectangle(10, 10, 5, 5)]
    assert planned_regions(ds, PixelOptions(region_library=own))[0].rule == "site.script:2 Site"
    path = library_file(tmp_path, 'Site\n{ Manufacturer.startsWith("Canon") }\n(10,10,5,5)\n')
    for given in (path, str(path)):
        assert [r.rectangle for r in planned_regions(ds, PixelOptions(region_library=given))] == [Rectangle(10, 10, 5, 5)]


def test_options_reject_impossible_values() -> None:
    """Negative margins, confidences outside 0..100 and zero frames are rejected when options are made."""
    for bad in ({"ocr_margin": -1}, {"ocr_min_confidence": 101.0}, {"ocr_max_frames": 0}):
        with pytest.raises(ValueError):
            PixelOptions(**bad)
