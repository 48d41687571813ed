"""What `clean_pixels` did to one dataset: regions masked, their source, how to write it."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

__all__ = ["CLEAN_PIXEL_DATA_CODE", "MaskedRegion", "PixelReport", "Rectangle", "RegionSource"]

CLEAN_PIXEL_DATA_CODE = ("113101", "DCM", "Clean Pixel Data Option")
"""PS3.16 CID 7050 code recorded in DeidentificationMethodCodeSequence when pixels were cleaned."""


class RegionSource(enum.Enum):
    """Why a region was masked."""

    REGION_LIBRARY = "region-library"
    BURNED_IN_ANNOTATION = "burned-in-annotation"
    OCR = "ocr"
    TEXT_LIKE = "text-like"
    """Lines of stroke-like marks found by the shape search, whether or not OCR can read them."""


@dataclass(frozen=True, order=True)
class Rectangle:
    """A rectangle in pixel coordinates: x (column), y (row) of the top left corner, width, height."""

    x: int
    y: int
    width: int
    height: int

    def __post_init__(self) -> None:
        if self.width < 0 or self.height < 0:
            raise ValueError(f"rectangle width and height must be >= 0, got {self.width}x{self.height}")

    def clip(self, columns: int, rows: int) -> Rectangle | None:
        """The part inside a `columns` x `rows` image, or None when nothing is left."""
        x0, y0 = max(self.x, 0), max(self.y, 0)
        x1, y1 = min(self.x + self.width, columns), min(self.y + self.height, rows)
        if x1 <= x0 or y1 <= y0:
            return None
        return Rectangle(x0, y0, x1 - x0, y1 - y0)

    def to_json(self) -> list[int]:
        return [self.x, self.y, self.width, self.height]


@dataclass(frozen=True)
class MaskedRegion:
    """One rectangle blanked in every frame, with the reason: a library rule, the flag, or OCR."""

    rectangle: Rectangle
    source: RegionSource
    rule: str
    """The library rule (`file:line name`), or what triggered detection; never pixel text (may be PHI)."""

    def to_json(self) -> dict[str, Any]:
        return {"rectangle": self.rectangle.to_json(), "source": self.source.value, "rule": self.rule}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> MaskedRegion:
        x, y, w, h = (int(v) for v in data["rectangle"])
        return cls(Rectangle(x, y, w, h), RegionSource(data["source"]), str(data["rule"]))


@dataclass(frozen=True)
class PixelReport:
    """The outcome for one dataset; `clean_pixel_data` says CID 7050 113101 applies."""

    regions: tuple[MaskedRegion, ...] = ()
    decoded: bool = False
    """Encapsulated pixel data was decoded (and is now written with `transfer_syntax`)."""
    transfer_syntax: str | None = None
    """The transfer syntax UID the dataset must now be written with (None: no pixel data)."""
    source_transfer_syntax: str | None = None
    ocr_ran: bool = False
    text_searched: bool = False
    """Every frame was searched for text by its shape (false only for a trusted source or no pixels)."""
    burned_in_annotation: str | None = None
    """BurnedInAnnotation (0028,0301) as now set in the dataset (None: absent)."""
    notes: tuple[str, ...] = field(default=())

    @property
    def clean_pixel_data(self) -> bool:
        """True when pixels were changed, so the Clean Pixel Data option (113101) is recorded."""
        return bool(self.regions)

    def to_json(self) -> dict[str, Any]:
        return {
            "regions": [r.to_json() for r in self.regions],
            "decoded": self.decoded,
            "transfer_syntax": self.transfer_syntax,
            "source_transfer_syntax": self.source_transfer_syntax,
            "ocr_ran": self.ocr_ran,
            "text_searched": self.text_searched,
            "burned_in_annotation": self.burned_in_annotation,
            "clean_pixel_data": self.clean_pixel_data,
            "notes": list(self.notes),
        }
