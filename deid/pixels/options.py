"""What pixel cleaning does: region library, text detection, and the write-back policy."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from pathlib import Path

from qms.deid.pixels.library import RegionLibrary


class OcrMode(enum.Enum):
    """When burned-in text is searched with tesseract."""

    OFF = "off"
    """Never: images that need detection are refused (quarantined)."""
    WHEN_NEEDED = "when-needed"
    """Secondary captures, ultrasound, flagged images and images of unknown provenance."""
    ALWAYS = "always"
    """Every image with pixel data (slow; for sites with unknown devices)."""


DEFAULT_OCR_MODALITIES = frozenset({"SC", "US", "OT", "XC", "ES", "IVUS"})


@dataclass(frozen=True)
class PixelOptions:
    """Settings of `clean_pixels`; the defaults are the safe ones (detect when needed, margin on)."""

    region_library: Path | str | RegionLibrary | None = None
    """A CTP DicomPixelAnonymizer script (path or parsed); None: the copy shipped in qms.deid.data."""
    use_region_library: bool = True
    ocr: OcrMode = OcrMode.WHEN_NEEDED
    ocr_modalities: frozenset[str] = DEFAULT_OCR_MODALITIES
    ocr_margin: int = 4
    """Pixels added on every side of a detected word box."""
    ocr_min_confidence: float = 60.0
    """tesseract word confidence (0-100) at or above which a word is masked."""
    ocr_max_frames: int = 3
    """Frames of a multi-frame image searched (first, middle, last); masks apply to every frame."""
    tesseract_cmd: str | None = None
    """Path of the tesseract binary; None uses the one on PATH."""
    verify_decodable: bool = True
    """Decode compressed pixel data even when nothing is masked, so undecodable files are quarantined."""
    reencode_rle: bool = True
    """Write RLE Lossless input back as RLE Lossless (lossless, so pixels stay bit-exact)."""

    def __post_init__(self) -> None:
        if self.ocr_margin < 0:
            raise ValueError(f"ocr_margin must be >= 0, got {self.ocr_margin}")
        if not 0.0 <= self.ocr_min_confidence <= 100.0:
            raise ValueError(f"ocr_min_confidence must be within 0..100, got {self.ocr_min_confidence}")
        if self.ocr_max_frames < 1:
            raise ValueError(f"ocr_max_frames must be >= 1, got {self.ocr_max_frames}")
