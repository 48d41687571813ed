"""Residual-PHI check of pixels: are the regions a report lists really blank in the output?"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from pydicom.dataset import Dataset

from qms.deid.pixels.codec import decode
from qms.deid.pixels.errors import PixelError
from qms.deid.pixels.layout import PixelLayout
from qms.deid.pixels.report import MaskedRegion


@dataclass(frozen=True)
class BlankFinding:
    """A masked region that still holds non-blank pixels (or pixels that cannot be read)."""

    region: MaskedRegion
    frames: tuple[int, ...]
    message: str
    where: str = "(7FE0,0010) PixelData"


def check_regions_blank(ds: Dataset, regions: list[MaskedRegion] | tuple[MaskedRegion, ...]) -> list[BlankFinding]:
    """One finding per region that is not uniformly the blank value in every frame (empty: clean)."""
    if not regions:
        return []
    try:
        layout = PixelLayout.from_dataset(ds)
        raw, _ = decode(ds, layout.transfer_syntax, raw=True)
    except PixelError as exc:
        return [BlankFinding(r, (), f"pixel data cannot be checked: {exc.message}") for r in regions]
    blank = np.asarray(layout.blank(ds)[: layout.samples_per_pixel])
    findings: list[BlankFinding] = []
    for region in regions:
        r = region.rectangle.clip(layout.columns, layout.rows)
        if r is None:
            continue
        patch = raw[:, r.y : r.y + r.height, r.x : r.x + r.width, :]
        bad = np.any(patch != blank, axis=(1, 2, 3))
        if bad.any():
            frames = tuple(int(i) for i in np.flatnonzero(bad))
            findings.append(BlankFinding(region, frames, f"region {r.to_json()} is not blank in {len(frames)} frame(s)"))
    return findings
