"""What pixel cleaning does: region library, text detection, and the write-back policy."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from qms.deid.pixels.library import RegionLibrary

__all__ = ["DEFAULT_OCR_MODALITIES", "OcrMode", "PixelOptions", "TrustedSource"]


class OcrMode(enum.Enum):
    """When burned-in text is searched with tesseract."""

    OFF = "off"
    """Never: text is searched for by its shape alone (`qms.deid.pixels.textsearch`), and masked."""
    WHEN_NEEDED = "when-needed"
    """Whole frames of secondary captures, ultrasound, flagged images and images of unknown
    provenance, and the text-like windows of any image that the shape search cannot decide."""
    ALWAYS = "always"
    """Every image with pixel data (slow; for sites with unknown devices); tesseract must be installed."""


@dataclass(frozen=True)
class TrustedSource:
    """A device whose BurnedInAnnotation NO is believed: its images are not searched for text.

    Matched on Manufacturer (0008,0070) and, when given, ManufacturerModelName (0008,1090) and
    StationName (0008,1010), case-insensitively; only an explicit NO is trusted, never an absent flag.
    """

    manufacturer: str
    model: str | None = None
    station: str | None = None

    def __post_init__(self) -> None:
        if not self.manufacturer.strip():
            raise ValueError("a trusted source needs a manufacturer")

    @classmethod
    def from_config(cls, value: TrustedSource | Mapping[str, Any]) -> TrustedSource:
        """From a `[tool.qms.deid.pixels] trusted_sources` entry (a table with manufacturer, model, station)."""
        if isinstance(value, TrustedSource):
            return value
        if not isinstance(value, Mapping):
            raise ValueError(f"a trusted source is a table with manufacturer, model, station; got {value!r}")
        unknown = set(value) - {"manufacturer", "model", "station"}
        if unknown:
            raise ValueError(f"unknown trusted source keys: {', '.join(sorted(unknown))}")
        return cls(str(value.get("manufacturer", "")), value.get("model"), value.get("station"))

    def matches(self, manufacturer: str, model: str, station: str) -> bool:
        wanted = ((self.manufacturer, manufacturer), (self.model, model), (self.station, station))
        return all(want is None or want.strip().upper() == got.strip().upper() for want, got in wanted)


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
    """Path of a tesseract binary, started per image; None: the tesseract library kept loaded in a child process
    (`qms.deid.pixels.ocr_engine`), or the binary on PATH where the library is not installed."""
    verify_decodable: bool = True
    """Decode compressed pixel data even when nothing is masked, so undecodable files are quarantined."""
    reencode_rle: bool = True
    """Write RLE Lossless input back as RLE Lossless (lossless, so pixels stay bit-exact)."""
    trusted_sources: tuple[TrustedSource, ...] = ()
    """Devices whose BurnedInAnnotation NO is believed (see `TrustedSource`); none by default."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "trusted_sources", tuple(TrustedSource.from_config(t) for t in self.trusted_sources))
        if self.ocr_margin < 0:
            raise ValueError(f"ocr_margin must be >= 0, got {self.ocr_margin}")
        if not 0.0 <= self.ocr_min_confidence <= 100.0:
            raise ValueError(f"ocr_min_confidence must be within 0..100, got {self.ocr_min_confidence}")
        if self.ocr_max_frames < 1:
            raise ValueError(f"ocr_max_frames must be >= 1, got {self.ocr_max_frames}")
