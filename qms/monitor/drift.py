"""Distribution shift between the validation run (reference) and a production window.

The statistic is the population stability index, PSI = sum over bins of (p - q) ln(p / q),
with p the window's and q the reference's share of each bin. Numeric values are binned at
the reference's deciles; categorical values by category, every category the reference never
saw pooled into one "unseen" bin. A share of 0 is floored at `FLOOR` so PSI stays finite.
Conventional reading: below 0.1 stable, 0.1 to 0.25 moderate, above 0.25 a major shift
(`PSI_THRESHOLD`). The two-sample Kolmogorov-Smirnov statistic is reported beside it for
numeric values, as a second, distribution-free view; the trigger is PSI alone.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = ["FLOOR", "MIN_CASES", "PSI_THRESHOLD", "Shift", "categorical_shift", "numeric_shift"]

PSI_THRESHOLD = 0.25
FLOOR = 1e-4
MIN_CASES = 30
UNSEEN = "(unseen in validation)"


@dataclass(frozen=True)
class Shift:
    """One compared quantity: its PSI, the KS statistic (numeric only), and the sizes compared."""

    quantity: str
    psi: float
    ks: float | None
    reference_n: int
    window_n: int

    @property
    def evaluable(self) -> bool:
        return self.window_n >= MIN_CASES and self.reference_n >= MIN_CASES

    @property
    def breached(self) -> bool:
        return self.evaluable and self.psi > PSI_THRESHOLD


def _psi(p: npt.NDArray[np.float64], q: npt.NDArray[np.float64]) -> float:
    p, q = np.maximum(p, FLOOR), np.maximum(q, FLOOR)
    return float(np.sum((p - q) * np.log(p / q)))


def numeric_shift(quantity: str, reference: Sequence[float | None], window: Sequence[float | None]) -> Shift:
    """PSI over the reference's deciles, and the KS statistic; missing (None or NaN) values are left out."""
    from scipy.stats import ks_2samp

    ref = np.array([v for v in reference if v is not None], dtype=np.float64)
    cur = np.array([v for v in window if v is not None], dtype=np.float64)
    ref, cur = ref[~np.isnan(ref)], cur[~np.isnan(cur)]
    if len(ref) == 0 or len(cur) == 0:
        return Shift(quantity, float("nan"), None, len(ref), len(cur))
    edges = np.unique(np.quantile(ref, np.linspace(0, 1, 11)[1:-1]))
    q = np.bincount(np.searchsorted(edges, ref, side="right"), minlength=len(edges) + 1) / len(ref)
    p = np.bincount(np.searchsorted(edges, cur, side="right"), minlength=len(edges) + 1) / len(cur)
    return Shift(quantity, _psi(p, q), float(ks_2samp(ref, cur).statistic), len(ref), len(cur))


def categorical_shift(quantity: str, reference: Sequence[str | None], window: Sequence[str | None]) -> Shift:
    """PSI over the reference's categories, with categories it never saw pooled in one bin."""
    known = Counter(str(v) for v in reference)
    seen = Counter(str(v) if str(v) in known else UNSEEN for v in window)
    bins = [*sorted(known), UNSEEN]
    q = np.array([known.get(b, 0) for b in bins], dtype=np.float64) / max(1, len(reference))
    p = np.array([seen.get(b, 0) for b in bins], dtype=np.float64) / max(1, len(window))
    return Shift(quantity, _psi(p, q), None, len(reference), len(window))
