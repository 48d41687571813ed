"""`clean_pixels`: decide what must be masked in one dataset, mask it, and say what was done.

Decision (fail closed, issues 4 and 19):
1. Rectangles of every region-library rule whose header condition holds.
2. Text is searched for by its shape on every frame of every image (`textsearch`), whatever
   BurnedInAnnotation says, unless the options trust the device's explicit NO. Text-like lines
   are masked whether or not OCR can read them; windows the shape search cannot decide are read
   with OCR where it is available.
3. OCR reads whole frames when the options ask for it: always, or for the modalities of
   `ocr_modalities`, for BurnedInAnnotation YES, and for images of unknown provenance (no
   Modality or no Manufacturer); where it is not installed the shape search stands alone.
4. A BurnedInAnnotation YES image where neither a rule nor a search found anything is refused.
5. After masking, the searches run again over the cleaned pixels (masking what they find) until
   a pass finds no text. Words OCR still reads after the last pass are masked too and the image
   is kept when the shape search then finds nothing (noted); otherwise it is refused.
   BurnedInAnnotation becomes NO only after a clean pass, and only when every frame was searched.
"""

from __future__ import annotations

from pathlib import Path

from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset
from pydicom.uid import UID, RLELossless

from qms.deid.peek import peek_value, stored
from qms.deid.pixels import codec, ocr
from qms.deid.pixels.errors import CleaningRefused, UndecodablePixelData
from qms.deid.pixels.header import raw_text
from qms.deid.pixels.layout import PixelLayout, transfer_syntax_of
from qms.deid.pixels.library import RegionLibrary, default_library, load_library
from qms.deid.pixels.masking import mask_native
from qms.deid.pixels.options import OcrMode, PixelOptions
from qms.deid.pixels.render import render, render_frames
from qms.deid.pixels.report import MaskedRegion, PixelReport, Rectangle, RegionSource
from qms.deid.pixels.textsearch import search_text
from qms.deid.pixels.views import frames_of

__all__ = ["clean_pixels", "detection_wanted", "planned_regions"]

_FLAG = "BurnedInAnnotation"
_FLAG_TAG, _ROWS, _COLUMNS, _PIXEL_DATA = 0x00280301, 0x00280010, 0x00280011, 0x7FE00010
_MODALITY, _SOP_CLASS, _MANUFACTURER = 0x00080060, 0x00080016, 0x00080070
_MODEL, _STATION = 0x00081090, 0x00081010
_CONFIRM_PASSES = 2
"""Detection passes over the cleaned pixels before an image still showing text is refused."""
_SECONDARY_CAPTURE = "1.2.840.10008.5.1.4.1.1.7"
"""Secondary Capture Image Storage and its multi-frame variants (PS3.4 B.5)."""


def clean_pixels(ds: Dataset, options: PixelOptions | None = None, file_bytes: bytes | None = None) -> PixelReport:
    """Mask burned-in PHI in `ds` in place; raises PixelError when that cannot be done safely.

    `file_bytes`: the bytes `ds` was just parsed from, unchanged (not deflated): lets the region
    library skip looking in sequences for tags that occur nowhere in them."""
    options = options or PixelOptions()
    ts = transfer_syntax_of(ds)
    if _PIXEL_DATA not in ds._dict:
        _refuse_float_pixels(ds)
        return PixelReport(transfer_syntax=ts, source_transfer_syntax=ts, burned_in_annotation=_flag(ds))
    if not ts.is_transfer_syntax:
        raise UndecodablePixelData("the transfer syntax UID is not a known transfer syntax", transfer_syntax=ts)
    layout = PixelLayout.from_dataset(ds)
    regions = planned_regions(ds, options, file_bytes)
    flagged = _flag(ds) == "YES"
    search = not _trusted(ds, options)
    detect, why, because_of = detection_wanted(ds, options, flagged)
    notes: list[str] = []
    unavailable = ocr.unavailable_reason(options) if detect else None
    if detect and unavailable is not None:
        if options.ocr is OcrMode.ALWAYS:
            raise CleaningRefused(f"text detection is set to always and {unavailable}", where=because_of,
                                  hint="install tesseract-ocr and pytesseract, or set ocr to when-needed")
        if options.ocr is not OcrMode.OFF:
            notes.append(f"whole frames not read by OCR ({why}): {unavailable}; text searched by shape")
        detect = False
    found = _found(ds, options, layout, "text search (every image)") if search else []
    if not regions and not detect and not found:
        if flagged:
            raise CleaningRefused(
                "BurnedInAnnotation is YES, no region-library rule matches the image and text detection found no text",
                hint="review the image and add a region rule for this device; it was not written",
            )
        if not search and not ts.is_compressed:
            codec.check_native_length(ds, layout)
        elif not search and options.verify_decodable:
            codec.decode(ds, ts)
        return PixelReport(transfer_syntax=ts, source_transfer_syntax=ts, burned_in_annotation=_flag(ds),
                           text_searched=search, notes=tuple(notes))
    return _clean(ds, options, layout, regions + found, (detect, why, search), notes)


def _clean(ds: Dataset, options: PixelOptions, layout: PixelLayout, regions: list[MaskedRegion],
           searches: tuple[bool, str, bool], notes: list[str]) -> PixelReport:
    """Decode if needed, read with OCR, mask, confirm by searching again, then pick the transfer syntax.

    `searches`: whether OCR reads whole frames, why, and whether the shape search runs.
    """
    detect, why, search = searches
    source = transfer_syntax_of(ds)
    decoded = source.is_compressed
    encoded = codec.encoded_state(ds)  # restored when nothing is masked: unmasked pixels keep their bytes
    if decoded:
        arr, meta = codec.decode(ds, source)
        codec.write_native(ds, arr, meta, source)
        layout = PixelLayout.from_dataset(ds)
    if detect:
        regions = regions + _detected(ds, options, f"text detection ({why})")[0]
    if _flag(ds) == "YES" and not regions:
        raise CleaningRefused(
            "BurnedInAnnotation is YES, no region-library rule matches the image and text detection found no text",
            hint="review the image and add a region rule for this device; it was not written",
        )
    masked = _mask(ds, layout, regions)
    if masked and (detect or search):
        masked += _confirm(ds, options, layout, (detect, search), notes)
    codec.check_native_length(ds, layout)
    if decoded and not masked:
        codec.restore_encoded(ds, encoded)
        decoded = False
    written = _written_syntax(ds, source, options, notes) if decoded else source
    return PixelReport(
        regions=tuple(masked),
        decoded=decoded,
        transfer_syntax=written,
        source_transfer_syntax=source,
        ocr_ran=detect or any(m.source is RegionSource.OCR for m in masked),
        text_searched=search,
        burned_in_annotation=_flag(ds),
        notes=tuple(notes),
    )


def _confirm(ds: Dataset, options: PixelOptions, layout: PixelLayout, searches: tuple[bool, bool],
             notes: list[str]) -> list[MaskedRegion]:
    """Search the cleaned pixels again, masking what is found, until a pass finds no text; the regions added.

    `searches`: whether OCR reads whole frames, and whether the shape search runs. Text still
    found after the last pass means detection cannot be trusted on this image: refused.
    BurnedInAnnotation becomes NO only when every frame was searched.
    """
    detect, search = searches
    masked: list[MaskedRegion] = []
    for attempt in range(_CONFIRM_PASSES):
        residual, strong = _detected(ds, options, f"text detection (pass {attempt + 2})") if detect else ([], False)
        shaped = _found(ds, options, layout, f"text search (pass {attempt + 2})") if search else []
        masked += _mask(ds, layout, residual + shaped)
        if not strong and not shaped:
            break
    else:
        if search and not search_text(ds, layout, margin=options.ocr_margin).regions:
            notes.append(f"OCR still read words after {_CONFIRM_PASSES + 1} passes; they were masked and the "
                         "text search finds nothing left")
            return masked
        raise CleaningRefused(
            f"text is still found after {_CONFIRM_PASSES + 1} detection passes; the image cannot be shown clean",
            where="(7FE0,0010) PixelData",
            hint="review the image and add a region-library rule for this device",
        )
    if detect and layout.frames > options.ocr_max_frames:
        notes.append(f"text searched in {options.ocr_max_frames} of {layout.frames} frames")
        if _flag(ds) == "NO":  # text was found: a NO in the input was not shown true
            ds.BurnedInAnnotation = "YES"
    else:
        ds.BurnedInAnnotation = "NO"
    return masked


def _found(ds: Dataset, options: PixelOptions, layout: PixelLayout, rule: str) -> list[MaskedRegion]:
    """Text-like lines of the shape search in every frame, and the words OCR reads in windows it cannot decide."""
    frames = frames_of(ds, layout)
    result = search_text(ds, layout, frames, options.ocr_margin)
    found = [MaskedRegion(r, RegionSource.TEXT_LIKE, rule) for r in result.rectangles()]
    if result.undecided and options.ocr is not OcrMode.OFF and ocr.unavailable_reason(options) is None:
        for window in sorted({(u.frame, u.rectangle) for u in result.undecided}):
            frame, box = window
            shown = frames[frame] if frames.shape[3] > 1 else frames[frame, ..., 0]
            grey = render(shown, ds, layout).grey[box.y : box.y + box.height, box.x : box.x + box.width]
            found += [MaskedRegion(Rectangle(w.x + box.x, w.y + box.y, w.width, w.height), RegionSource.OCR,
                                   f"{rule}, read in an undecided window") for w in ocr.words_in(grey, options)]
    return found


def _detected(ds: Dataset, options: PixelOptions, rule: str) -> tuple[list[MaskedRegion], bool]:
    """The word boxes OCR reads in whole frames as regions, and whether any word was read beyond reasonable doubt."""
    words = ocr.detect_text(render_frames(ds, options.ocr_max_frames), options)
    return [MaskedRegion(w.rectangle, RegionSource.OCR, rule) for w in words], any(w.strong for w in words)


def planned_regions(ds: Dataset, options: PixelOptions | None = None,
                    file_bytes: bytes | None = None) -> list[MaskedRegion]:
    """The region-library rectangles that apply to this header, clipped to the image (`file_bytes`: see
    `clean_pixels`)."""
    options = options or PixelOptions()
    if not options.use_region_library or _ROWS not in ds._dict or _COLUMNS not in ds._dict:
        return []
    library = _library(options)
    flagged = _flag(ds) == "YES"
    source = RegionSource.BURNED_IN_ANNOTATION if flagged else RegionSource.REGION_LIBRARY
    regions: list[MaskedRegion] = []
    for rule in library.matching(ds, file_bytes):
        for rectangle in rule.rectangles:
            clipped = rectangle.clip(int(peek_value(ds, _COLUMNS)), int(peek_value(ds, _ROWS)))
            if clipped is not None:
                regions.append(MaskedRegion(clipped, source, rule.label))
    return regions


def _library(options: PixelOptions) -> RegionLibrary:
    if options.region_library is None:
        return default_library()
    if isinstance(options.region_library, RegionLibrary):
        return options.region_library
    return load_library(Path(options.region_library))


def _mask(ds: Dataset, layout: PixelLayout, regions: list[MaskedRegion]) -> list[MaskedRegion]:
    clipped = [(m, m.rectangle.clip(layout.columns, layout.rows)) for m in regions]
    kept = [(m, r) for m, r in clipped if r is not None]
    done = mask_native(ds, layout, [r for _, r in kept])
    return [MaskedRegion(rect, m.source, m.rule) for (m, _), rect in zip(kept, done, strict=True)]


def _written_syntax(ds: Dataset, source: UID, options: PixelOptions, notes: list[str]) -> UID:
    """Masked compressed pixels are encoded again by `codec.reencode`'s rule (its note, if any, joins `notes`);
    RLE Lossless input stays native when the options say not to re-encode it."""
    if source == RLELossless and not options.reencode_rle:
        return UID(transfer_syntax_of(ds))
    written, why = codec.reencode(ds, source)
    notes += [why] if why else []
    return written


def detection_wanted(ds: Dataset, options: PixelOptions, flagged: bool) -> tuple[bool, str, str]:
    """Whether to search for text, why, and the element that decided it."""
    modality = _one_text(ds, _MODALITY).upper()
    if options.ocr is OcrMode.ALWAYS:
        return True, "text detection is set to always", "PixelOptions.ocr"
    if flagged:
        return True, "BurnedInAnnotation YES", "(0028,0301) BurnedInAnnotation"
    if modality in options.ocr_modalities:
        return True, f"modality {modality}", "(0008,0060) Modality"
    if _one_text(ds, _SOP_CLASS).startswith(_SECONDARY_CAPTURE):
        return True, "secondary capture", "(0008,0016) SOPClassUID"
    if not modality or not _one_text(ds, _MANUFACTURER):
        return True, "unknown provenance: no Modality or no Manufacturer", "(0008,0070) Manufacturer"
    return False, "", ""


def _trusted(ds: Dataset, options: PixelOptions) -> bool:
    """An explicit BurnedInAnnotation NO from a device the options trust (never an absent flag)."""
    if not options.trusted_sources or _flag(ds) != "NO":
        return False
    device = (_one_text(ds, _MANUFACTURER), _one_text(ds, _MODEL), _one_text(ds, _STATION))
    return any(source.matches(*device) for source in options.trusted_sources)


def _one_text(ds: Dataset, tag: int) -> str:
    """`str(ds.get(tag) or "").strip()`, read from the bytes of a raw element with one plain value."""
    raw = stored(ds, tag)
    if isinstance(raw, RawDataElement) and isinstance(raw.value, bytes) and b"\\" not in raw.value:
        text: str | None = raw_text(raw)
        if text is not None:
            return text
    return str(peek_value(ds, tag, "") or "").strip()


def _flag(ds: Dataset) -> str | None:
    raw = stored(ds, _FLAG_TAG)
    if isinstance(raw, RawDataElement) and raw.length:  # a raw value is never None: text, maybe empty
        return _one_text(ds, _FLAG_TAG).upper()
    value = peek_value(ds, _FLAG_TAG)
    return None if value is None else str(value).strip().upper()


def _refuse_float_pixels(ds: Dataset) -> None:
    if _flag(ds) == "YES" and ("FloatPixelData" in ds or "DoubleFloatPixelData" in ds):
        raise CleaningRefused("BurnedInAnnotation is YES on float pixel data, which cannot be masked yet")
