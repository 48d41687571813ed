"""AUROC as the Mann-Whitney statistic: point value, DeLong variance, weighted (bootstrap) form.

The bootstrap form takes a matrix of case weights (one row per resample: how often each
case was drawn) and computes every row's AUROC from one sort of the scores, so thousands
of resamples cost a few passes over an (resamples x cases) array instead of a sort each.
Ties count one half (the trapezoidal area, Hanley & McNeil 1982).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


class SortedScores:
    """Scores sorted once, tie groups found once, reused by every resample."""

    def __init__(self, scores: FloatArray, y: NDArray[np.int_]) -> None:
        order = np.argsort(scores, kind="stable")
        s = scores[order]
        self.order = order
        self.positive = y[order].astype(bool)
        starts = np.flatnonzero(np.r_[True, s[1:] != s[:-1]])
        self.group_starts = starts if len(starts) < len(s) else None
        self.rank_of = np.empty(len(order), dtype=np.int32)
        self.rank_of[order] = np.arange(len(order), dtype=np.int32)

    def auroc(self, weights: NDArray[np.floating] | NDArray[np.integer]) -> FloatArray:
        """AUROC of each row of `weights` (rows: resamples, columns: cases in input order)."""
        w = np.asarray(weights)[:, self.order]
        wp = np.where(self.positive, w, 0)
        wn = w - wp
        if self.group_starts is not None:
            wp = np.add.reduceat(wp, self.group_starts, axis=1)
            wn = np.add.reduceat(wn, self.group_starts, axis=1)
        below = np.cumsum(wn, axis=1, dtype=np.float64)
        below -= wn
        below += 0.5 * wn
        num = np.einsum("ij,ij->i", wp.astype(np.float64), below)
        den = wp.sum(axis=1, dtype=np.float64) * wn.sum(axis=1, dtype=np.float64)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(den > 0, num / den, np.nan)


    def auroc_of_draws(self, draws: NDArray[np.int64]) -> FloatArray | None:
        """AUROC of each row of case draws by the rank-sum of the drawn positives; None when scores tie.

        With distinct scores, sorting a row's draws by score puts every case at its rank,
        so the Mann-Whitney count is the positives' rank sum less M(M-1)/2 (0-based ranks):
        one sort per row and no cumulative sum, the same value as `auroc(bincount(row))`.
        """
        if self.group_starts is not None:
            return None
        ranks = np.sort(self.rank_of[draws], axis=1)
        pos = self.positive[ranks]
        m = pos.sum(axis=1, dtype=np.float64)
        n = draws.shape[1] - m
        rank_sum = pos.astype(np.float64) @ np.arange(draws.shape[1], dtype=np.float64)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(m * n > 0, (rank_sum - m * (m - 1) / 2) / (m * n), np.nan)


def auroc(scores: FloatArray, y: NDArray[np.int_]) -> float:
    """The Mann-Whitney AUROC with ties counted one half."""
    return float(SortedScores(scores, y).auroc(np.ones((1, len(scores))))[0])


def rankdata(x: FloatArray) -> FloatArray:
    """Midranks (1-based; ties share the mean of their ranks), as scipy.stats.rankdata."""
    _, inverse, counts = np.unique(x, return_inverse=True, return_counts=True)
    upper = np.cumsum(counts)
    return np.asarray(((upper - counts + 1 + upper) / 2.0)[inverse], dtype=np.float64)


def _placements(scores: FloatArray, y: NDArray[np.int_]) -> tuple[FloatArray, FloatArray, float]:
    """DeLong's structural components (DeLong et al. 1988; Sun & Xu 2014 midrank form)."""
    pos, neg = scores[y == 1], scores[y == 0]
    m, n = len(pos), len(neg)
    if m == 0 or n == 0:
        raise ValueError("AUROC needs at least one positive and one negative case")
    r_all = rankdata(np.r_[pos, neg])
    v10 = (r_all[:m] - rankdata(pos)) / n  # share of negatives below each positive
    v01 = 1.0 - (r_all[m:] - rankdata(neg)) / m  # share of positives above each negative
    return v10, v01, float(v10.mean())


def jackknife(scores: FloatArray, y: NDArray[np.int_]) -> FloatArray:
    """Leave-one-case-out AUROCs in closed form from DeLong's placements (cases in input order).

    Dropping positive i removes its placement: (m A - V10_i) / (m - 1); dropping negative j
    likewise: (n A - V01_j) / (n - 1). Exact, and O(n log n) instead of n AUROCs.
    """
    v10, v01, a = _placements(scores, y)
    m, n = len(v10), len(v01)
    out = np.empty(len(scores), dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        out[y == 1] = (m * a - v10) / (m - 1) if m > 1 else np.nan
        out[y == 0] = (n * a - v01) / (n - 1) if n > 1 else np.nan
    return out


def delong_se(scores: FloatArray, y: NDArray[np.int_], clusters: IntArray | None = None) -> tuple[float, float]:
    """(AUROC, standard error): DeLong for independent cases, Obuchowski (1997) for clustered ones."""
    v10, v01, a = _placements(scores, y)
    m, n = len(v10), len(v01)
    if clusters is None:
        s10 = float(np.var(v10, ddof=1)) if m > 1 else 0.0
        s01 = float(np.var(v01, ddof=1)) if n > 1 else 0.0
        return a, float(np.sqrt(s10 / m + s01 / n))
    # Obuchowski 1997, eq. 3-5: per-cluster sums of the structural components.
    _, k = np.unique(clusters, return_inverse=True)
    n_clusters = int(k.max()) + 1
    if n_clusters < 2:
        raise ValueError("clustered DeLong needs at least two clusters")
    kp, kn = k[y == 1], k[y == 0]
    v10k = np.bincount(kp, weights=v10, minlength=n_clusters)
    v01k = np.bincount(kn, weights=v01, minlength=n_clusters)
    mk = np.bincount(kp, minlength=n_clusters)
    nk = np.bincount(kn, minlength=n_clusters)
    f = n_clusters / (n_clusters - 1)
    d10, d01 = v10k - mk * a, v01k - nk * a
    s10 = f / m * float(d10 @ d10)
    s01 = f / n * float(d01 @ d01)
    s11 = f * float(d10 @ d01)
    var = s10 / m + s01 / n + 2 * s11 / (m * n)
    return a, float(np.sqrt(max(var, 0.0)))


def hanley_mcneil_se(a: float, n_abnormal: int, n_normal: int) -> float:
    """Hanley & McNeil (Radiology 1982;143:29-36), eq. 1 with Q1 = A/(2-A), Q2 = 2A^2/(1+A)."""
    q1, q2 = a / (2 - a), 2 * a * a / (1 + a)
    var = (a * (1 - a) + (n_abnormal - 1) * (q1 - a * a) + (n_normal - 1) * (q2 - a * a)) / (n_abnormal * n_normal)
    return float(np.sqrt(var))
