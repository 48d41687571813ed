"""Residual-PHI check of pixels: are the regions a report lists really blank in the output?

Each problem is a `qms.findings.Finding` at the Pixel Data tag, naming the region and the
frames (never pixel values); the caller sets the file as its item.
"""

from __future__ import annotations

import numpy as np
from pydicom.dataset import Dataset

from qms.deid.pixels.codec import decode
from qms.deid.pixels.errors import PixelError
from qms.deid.pixels.layout import PixelLayout
from qms.deid.pixels.report import MaskedRegion
from qms.findings import Finding

__all__ = ["PIXEL_DATA", "REGION_NOT_BLANK", "check_regions_blank"]

REGION_NOT_BLANK = "deid-region-not-blank"
PIXEL_DATA = "(7FE0,0010) PixelData"
_HINT = "the output still shows a region that was to be masked: do not share it; re-run `qms deid dicom`"
_FRAMES_LISTED = 10


def _finding(reason: str) -> Finding:
    return Finding(REGION_NOT_BLANK, None, reason, _HINT, PIXEL_DATA)


def _frames(frames: list[int]) -> str:
    listed = ", ".join(str(f) for f in frames[:_FRAMES_LISTED])
    return listed + (", ..." if len(frames) > _FRAMES_LISTED else "")


def check_regions_blank(ds: Dataset, regions: list[MaskedRegion] | tuple[MaskedRegion, ...]) -> list[Finding]:
    """One finding per region that is not uniformly the blank value in every frame (empty: clean)."""
    if not regions:
        return []
    try:
        layout = PixelLayout.from_dataset(ds)
        raw, _ = decode(ds, layout.transfer_syntax, raw=True)
    except PixelError as exc:
        return [_finding(f"pixel data cannot be checked: {exc.message}") for _ in regions]
    blank = np.asarray(layout.blank(ds)[: layout.samples_per_pixel])
    findings: list[Finding] = []
    for region in regions:
        r = region.rectangle.clip(layout.columns, layout.rows)
        if r is None:
            continue
        patch = raw[:, r.y : r.y + r.height, r.x : r.x + r.width, :]
        bad = np.any(patch != blank, axis=(1, 2, 3))
        if bad.any():
            frames = [int(i) for i in np.flatnonzero(bad)]
            findings.append(_finding(f"masked region {r.to_json()} ({region.source.value}: {region.rule}) "
                                     f"is not blank in frame(s) {_frames(frames)}"))
    return findings
