"""Text is searched for on every image: found on stored values and on the display, masked, and checked again."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from pydicom import dcmread
from pydicom.dataset import Dataset

from qms.deid.keying import DeidKey
from qms.deid.options import DeidOptions, pixel_options
from qms.deid.pipeline import run_batch

from qms.deid.pixels import (
    CleaningRefused,
    PixelError,
    OcrMode,
    PixelOptions,
    Rectangle,
    RegionSource,
    TrustedSource,
    clean_pixels,
    find_residual_text,
)
from qms.errors import QmsError
from tests.deid_pixels.burned import NAME_AND_MRN, anatomy, text_mask
from tests.deid_pixels.synthetic import native, pixels, region_mask, written

SHAPE_ONLY = PixelOptions(ocr=OcrMode.OFF)
"""Without tesseract: these tests show what the shape search does alone."""


def _ct(text: np.ndarray | None, rows: int = 256, columns: int = 256, **attributes: object) -> Dataset:
    """An unflagged 12-bit CT (rescale -1024, soft-tissue window) with `text` drawn at the maximum stored value."""
    image = np.clip(anatomy(rows, columns, low=24, high=1100), 0, 4094)
    if text is not None:
        image[text] = 4095
    return native(image.astype(np.uint16)[np.newaxis], bits_stored=12, Modality="CT", RescaleIntercept=-1024,
                  RescaleSlope=1, **{"WindowCenter": 40, "WindowWidth": 400, **attributes})


def _box(mask: np.ndarray) -> Rectangle:
    """The bounding box of the set pixels."""
    ys, xs = np.nonzero(mask)
    return Rectangle(int(xs.min()), int(ys.min()), int(xs.max() - xs.min() + 1), int(ys.max() - ys.min() + 1))


def _masked(ds: Dataset, report_regions: tuple[object, ...], rows: int, columns: int) -> np.ndarray:
    return region_mask(rows, columns, list(report_regions))  # type: ignore[arg-type]


@pytest.mark.parametrize("window", [(40, 400), (2000, 6000)])
def test_unflagged_ct_with_text_at_the_maximum_stored_value_is_masked(window: tuple[int, int]) -> None:
    """A name and MRN burned at the maximum stored value into CT without BurnedInAnnotation are found and masked,
    also under a window that shows them mid-grey."""
    text = text_mask(256, 256, (8, 6))
    ds = _ct(text, WindowCenter=window[0], WindowWidth=window[1])
    assert "BurnedInAnnotation" not in ds
    report = clean_pixels(ds, SHAPE_ONLY)
    after = pixels(written(ds))[0, ..., 0]
    assert not (after[text] == 4095).any(), "a pixel of the burned-in text survived"
    assert report.text_searched and {r.source for r in report.regions} == {RegionSource.TEXT_LIKE}
    box, reach = _box(text), SHAPE_ONLY.ocr_margin + 2
    near = region_mask(256, 256, [Rectangle(box.x - reach, box.y - reach, box.width + 2 * reach, box.height + 2 * reach)])
    assert not (_masked(ds, report.regions, 256, 256) & ~near).any(), "more than the text and its margin was masked"
    assert ds.BurnedInAnnotation == "NO"


def test_palette_ultrasound_text_under_a_near_black_entry_is_masked() -> None:
    """Text stored as palette index 255, whose colour is near black (invisible on display), is found and masked."""
    rows, columns = 240, 320
    text = text_mask(rows, columns, (12, 200))
    indices = np.clip(anatomy(rows, columns, seed=5, low=10, high=200, noise=12), 1, 254).astype(np.uint8)
    indices[text] = 255
    ds = native(indices[np.newaxis], photometric="PALETTE COLOR", Modality="US")
    ramp = np.arange(256, dtype=np.uint16)
    ramp[255] = 4  # the annotation's entry: near black
    for colour in ("Red", "Green", "Blue"):
        setattr(ds, f"{colour}PaletteColorLookupTableDescriptor", [256, 0, 8])
        setattr(ds, f"{colour}PaletteColorLookupTableData", ramp.astype(np.uint8).tobytes())
    report = clean_pixels(ds, SHAPE_ONLY)
    after = pixels(written(ds))[0, ..., 0]
    assert not (after[text] == 255).any(), "a pixel of the text at index 255 survived"
    assert report.regions and all(r.source is RegionSource.TEXT_LIKE for r in report.regions)
    assert find_residual_text(written(ds), "us.dcm") == []


def test_monochrome1_text_displayed_white_is_masked() -> None:
    """On MONOCHROME1 text drawn at the minimum stored value (displayed white) is found and masked."""
    rows, columns = 256, 256
    text = text_mask(rows, columns, (20, 230))
    image = 4095 - np.clip(anatomy(rows, columns, low=300, high=3000), 0, 4095)
    image[text] = 0
    ds = native(image.astype(np.uint16)[np.newaxis], photometric="MONOCHROME1", bits_stored=12, Modality="CR")
    report = clean_pixels(ds, SHAPE_ONLY)
    after = pixels(written(ds))[0, ..., 0]
    assert report.regions
    assert (after[text] == 4095).all(), "MONOCHROME1 blank is the maximum value (displayed black)"


def test_multi_frame_text_in_one_frame_is_masked_in_every_frame() -> None:
    """Text in one frame of a four-frame cine is found and its region is blanked in all frames; the rest is kept."""
    rows, columns = 200, 240
    text = text_mask(rows, columns, (6, 170), text="MRN 4471203 DOB 19650412")
    frames = np.stack([np.clip(anatomy(rows, columns, seed=s, low=50, high=3000), 0, 4094) for s in range(4)])
    frames[2][text] = 4095
    ds = native(frames.astype(np.uint16), bits_stored=12, Modality="XA")
    before = pixels(ds)[..., 0].copy()
    report = clean_pixels(ds, SHAPE_ONLY)
    after = pixels(written(ds))[..., 0]
    inside = _masked(ds, report.regions, rows, columns)
    assert inside[text].all() and not (after[2][text] == 4095).any()
    assert (after[:, inside] == 0).all(), "a masked region is blank in every frame"
    assert np.array_equal(after[:, ~inside], before[:, ~inside])


@pytest.mark.parametrize("window", [None, (40, 400), (300, 1500), (1000, 100)])
def test_image_without_text_is_untouched(window: tuple[int, int] | None) -> None:
    """An image without text, under any window, is searched and left byte for byte as it was."""
    attributes = {} if window is None else {"WindowCenter": window[0], "WindowWidth": window[1]}
    image = np.clip(anatomy(256, 256, seed=11, low=24, high=2600, noise=60), 0, 4095).astype(np.uint16)
    ds = native(image[np.newaxis], bits_stored=12, Modality="CT", RescaleIntercept=-1024, **attributes)
    before = bytes(ds.PixelData)
    report = clean_pixels(ds, SHAPE_ONLY)
    assert report.text_searched and report.regions == () and not report.clean_pixel_data
    assert ds.PixelData == before and "BurnedInAnnotation" not in ds


def test_pixel_check_finds_text_in_an_unchanged_copy_and_nothing_after_cleaning() -> None:
    """The verify pixel check reports the burned-in text of an unchanged copy by frame and region, and passes the output."""
    text = text_mask(256, 256, (8, 6))
    original = written(_ct(text))
    findings = find_residual_text(original, "in/ct.dcm")
    assert findings and all(f.check == "pixel-text" and f.item == "in/ct.dcm" for f in findings)
    assert all("frame 1 region [" in (f.where or "") for f in findings)
    assert all(NAME_AND_MRN not in f.text() for f in findings)
    cleaned = _ct(text)
    clean_pixels(cleaned, SHAPE_ONLY)
    assert find_residual_text(written(cleaned), "out/ct.dcm") == []


def test_pixel_check_reports_undecodable_pixel_data() -> None:
    """Pixel data shorter than its Image Pixel module declares is a finding of its own, not a silent pass."""
    ds = _ct(None)
    ds.PixelData = bytes(ds.PixelData)[:100]
    (finding,) = find_residual_text(ds, "bad.dcm")
    assert finding.check == "pixel-undecodable" and finding.blocking


def test_only_a_trusted_device_with_an_explicit_no_is_not_searched() -> None:
    """A trusted manufacturer and model with BurnedInAnnotation NO skips the search; an absent flag does not."""
    text = text_mask(256, 256, (8, 6))
    trusted = PixelOptions(ocr=OcrMode.OFF, trusted_sources=({"manufacturer": "acme", "model": "CT-1"},))  # type: ignore[arg-type]
    assert trusted.trusted_sources == (TrustedSource("acme", "CT-1"),)
    flagged_no = _ct(text, Manufacturer="ACME", ManufacturerModelName="CT-1", BurnedInAnnotation="NO")
    before = bytes(flagged_no.PixelData)
    report = clean_pixels(flagged_no, trusted)
    assert not report.text_searched and flagged_no.PixelData == before
    unflagged = _ct(text, Manufacturer="ACME", ManufacturerModelName="CT-1")
    assert clean_pixels(unflagged, trusted).regions
    other_model = _ct(text, Manufacturer="ACME", ManufacturerModelName="CT-2", BurnedInAnnotation="NO")
    assert clean_pixels(other_model, trusted).regions


def test_trusted_sources_reject_malformed_entries() -> None:
    """A trusted source without a manufacturer, or with unknown keys, is rejected when the options are made."""
    for bad in ({"model": "CT-1"}, {"manufacturer": "ACME", "serial": "1"}, "ACME"):
        with pytest.raises(ValueError):
            PixelOptions(trusted_sources=(bad,))  # type: ignore[arg-type]


def test_flagged_image_without_findable_text_is_still_refused() -> None:
    """BurnedInAnnotation YES where no search finds text is refused rather than passed as clean."""
    ds = _ct(None, BurnedInAnnotation="YES")
    with pytest.raises(CleaningRefused):
        clean_pixels(ds, SHAPE_ONLY)


def test_batch_masks_unflagged_ct_text_and_quarantines_nothing(tmp_path: Path) -> None:
    """A batch with the default safe options masks text on unflagged CT; the pixel check finds it in the input only."""
    src, out = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    plain, burned = _ct(None, PatientName="QUELLMARK^DAGNY"), _ct(text_mask(256, 256, (8, 6)), PatientName="QUELLMARK^DAGNY")
    for name, ds in (("plain.dcm", plain), ("burned.dcm", burned)):
        ds.save_as(src / name, enforce_file_format=True)
    report = run_batch(src, out, DeidKey(b"k" * 32), DeidOptions(), pixels=SHAPE_ONLY)
    assert report.processed == 2 and not report.quarantined
    assert find_residual_text(dcmread(src / "burned.dcm"), "burned.dcm")
    outputs = sorted(out.rglob("*.dcm"))
    assert len(outputs) == 2
    assert all(find_residual_text(dcmread(path), path.name) == [] for path in outputs)


def test_white_text_on_rgb_ultrasound_is_masked_without_ocr() -> None:
    """White text on an RGB ultrasound frame is found on the displayed luminance and masked without OCR."""
    rows, columns = 240, 320
    text = text_mask(rows, columns, (10, 12))
    grey = np.clip(anatomy(rows, columns, seed=9, low=20, high=160, noise=15), 0, 200).astype(np.uint8)
    frame = np.repeat(grey[..., np.newaxis], 3, axis=2)
    frame[text] = (255, 255, 210)
    ds = native(frame[np.newaxis], photometric="RGB", Modality="US")
    report = clean_pixels(ds, SHAPE_ONLY)
    after = pixels(written(ds))[0]
    assert report.regions and not (after[text] > 200).all(axis=-1).any()


def test_palette_image_without_its_palette_cannot_be_searched() -> None:
    """A palette-colour image whose palette is missing is refused by cleaning and reported by the check, not passed."""
    ds = native(np.zeros((1, 32, 48), dtype=np.uint8), photometric="PALETTE COLOR", Modality="US")
    with pytest.raises(PixelError):
        clean_pixels(ds, SHAPE_ONLY)
    (finding,) = find_residual_text(ds, "us.dcm")
    assert finding.check == "pixel-undecodable" and "displayed image" in finding.reason


def test_trusted_sources_are_read_from_the_project_configuration() -> None:
    """`[tool.qms.deid.pixels] trusted_sources` tables become trusted sources; a malformed one is a configuration error."""
    options = pixel_options({"pixels": {"trusted_sources": [{"manufacturer": "ACME", "model": "CT-1"},
                                                            {"manufacturer": "ACME", "station": "CT7"}]}})
    assert options.trusted_sources == (TrustedSource("ACME", "CT-1"), TrustedSource("ACME", station="CT7"))
    with pytest.raises(QmsError) as caught:
        pixel_options({"pixels": {"trusted_sources": [{"model": "CT-1"}]}})
    assert "manufacturer" in caught.value.message


@pytest.mark.parametrize(("size", "value", "window"), [(9, 4095, None), (11, 3000, (1000, 3000)), (14, 3000, (1000, 3000))])
def test_antialiased_text_apart_from_the_anatomy_is_masked(size: int, value: int, window: tuple[int, int] | None) -> None:
    """Small antialiased text blended in at a value above all anatomy, shown mid-grey or stretched, loses its strokes."""
    alpha = text_mask(384, 384, (6, 340), text="QUELLMARK^DAGNY 12/04/1965", size=size, alpha=True)
    image = np.clip(anatomy(384, 384, seed=size, low=24, high=1100), 0, 4095) * (1 - alpha) + value * alpha
    attributes = {} if window is None else {"WindowCenter": window[0], "WindowWidth": window[1]}
    ds = native(image.astype(np.uint16)[np.newaxis], bits_stored=12, Modality="CT", RescaleIntercept=-1024,
                **attributes)
    before = pixels(ds)[0, ..., 0].copy()
    clean_pixels(ds, SHAPE_ONLY)
    strokes = alpha > 0.5
    assert not (pixels(ds)[0, ..., 0][strokes] == before[strokes]).any(), "a stroke pixel of the text survived"
