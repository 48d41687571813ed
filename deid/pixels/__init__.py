"""Burned-in PHI in pixels: region library (RSNA CTP), BurnedInAnnotation, optional OCR, masking.

The batch pipeline calls `clean_pixels(ds, options)` on the copy it will write; a
`PixelError` means the file must be quarantined. `check_regions_blank` lets the residual-PHI
verifier confirm that the regions a report lists are blank in an output file, and
`find_residual_text` finds text-like regions left in any output, whatever its report says.
"""

from qms.deid.pixels.clean import clean_pixels, planned_regions
from qms.deid.pixels.errors import CleaningRefused, PixelError, RegionLibraryError, UndecodablePixelData
from qms.deid.pixels.library import RegionLibrary, RegionRule, default_library
from qms.deid.pixels.options import OcrMode, PixelOptions, TrustedSource
from qms.deid.pixels.report import CLEAN_PIXEL_DATA_CODE, MaskedRegion, PixelReport, Rectangle, RegionSource
from qms.deid.pixels.textcheck import find_residual_text
from qms.deid.pixels.verify import check_regions_blank

__all__ = [
    "CLEAN_PIXEL_DATA_CODE",
    "CleaningRefused",
    "MaskedRegion",
    "OcrMode",
    "PixelError",
    "PixelOptions",
    "PixelReport",
    "Rectangle",
    "RegionLibrary",
    "RegionLibraryError",
    "RegionRule",
    "RegionSource",
    "TrustedSource",
    "UndecodablePixelData",
    "check_regions_blank",
    "clean_pixels",
    "default_library",
    "find_residual_text",
    "planned_regions",
]
