"""Errors of pixel cleaning; the batch pipeline quarantines a file on any `PixelError`."""

from __future__ import annotations

from qms.errors import QmsError

__all__ = ["CleaningRefused", "PIXEL_DATA_TAG", "PixelError", "RegionLibraryError", "UndecodablePixelData"]

PIXEL_DATA_TAG = "(7FE0,0010)"


class PixelError(QmsError):
    """The pixels of a dataset cannot be cleaned safely, so the file must not be written."""


class UndecodablePixelData(PixelError):
    """Pixel Data (7FE0,0010) does not decode under its transfer syntax (quarantine, never pass)."""

    def __init__(self, reason: str, *, transfer_syntax: str, hint: str | None = None) -> None:
        super().__init__(
            f"pixel data does not decode under transfer syntax {transfer_syntax}: {reason}",
            where=PIXEL_DATA_TAG,
            hint=hint or "the file is quarantined; check that it is complete and that its transfer syntax is supported",
        )
        self.transfer_syntax = transfer_syntax


class CleaningRefused(PixelError):
    """Burned-in PHI may be present and nothing can remove it: refuse rather than pass PHI through."""

    def __init__(self, reason: str, *, where: str = "(0028,0301) BurnedInAnnotation", hint: str | None = None) -> None:
        super().__init__(reason, where=where, hint=hint)


class RegionLibraryError(QmsError):
    """A rule of the burned-in annotation region library is malformed (names the file and line)."""
