"""The residual-PHI check of pixels: listed regions must be blank in the output, in every frame."""

from __future__ import annotations

import numpy as np

from qms.deid.pixels import (
    MaskedRegion,
    OcrMode,
    PixelOptions,
    Rectangle,
    RegionLibrary,
    RegionSource,
    check_regions_blank,
    clean_pixels,
)
from tests.deid_pixels.synthetic import native, written

OPTIONS = PixelOptions(
    region_library=RegionLibrary.from_text("All\n{ true. }\n(2,2,6,3)\n", "all.script"), ocr=OcrMode.OFF
)


def _image() -> np.ndarray:
    return np.full((3, 12, 12), 700, dtype=np.int16)


def test_cleaned_output_passes() -> None:
    """After cleaning, the regions of the report are blank in the written file: no finding."""
    ds = native(_image(), Modality="CT")
    report = clean_pixels(ds, OPTIONS)
    assert check_regions_blank(written(ds), report.regions) == []


def test_uncleaned_frame_is_found() -> None:
    """A region that still holds pixels in one frame is reported with that frame and the Pixel Data tag."""
    arr = _image()
    arr[:2, 2:5, 2:8] = -32768
    region = MaskedRegion(Rectangle(2, 2, 6, 3), RegionSource.REGION_LIBRARY, "all.script:2 All")
    findings = check_regions_blank(native(arr, Modality="CT"), [region])
    assert len(findings) == 1
    assert findings[0].reason.endswith("is not blank in frame(s) 2") and region.rule in findings[0].reason
    assert findings[0].where is not None and findings[0].where.startswith("(7FE0,0010)")


def test_undecodable_output_is_a_finding() -> None:
    """An output whose pixels cannot be read is a finding for each region, never a pass."""
    ds = native(_image(), Modality="CT")
    ds.PixelData = ds.PixelData[:10]
    region = MaskedRegion(Rectangle(0, 0, 1, 1), RegionSource.OCR, "text detection")
    findings = check_regions_blank(ds, [region])
    assert len(findings) == 1 and "cannot be checked" in findings[0].reason


def test_regions_round_trip_through_json() -> None:
    """A region written to the manifest as JSON reads back equal."""
    region = MaskedRegion(Rectangle(1, 2, 3, 4), RegionSource.BURNED_IN_ANNOTATION, "lib:7 GE")
    assert MaskedRegion.from_json(region.to_json()) == region
    ds = native(_image(), Modality="CT")
    report = clean_pixels(ds, OPTIONS)
    assert [MaskedRegion.from_json(r) for r in report.to_json()["regions"]] == list(report.regions)
