"""AUROC as the Mann-Whitney statistic: point value, DeLong variance, weighted (bootstrap) form.

The bootstrap forms share one sort of the scores: from the raw draws, one int32 sort per
resample and the drawn positives' rank sum (`auroc_of_draws`); from a matrix of case
weights (one row per resample: how often each case was drawn), one int32 running sum in
score order (`auroc`). Ties count one half (the trapezoidal area, Hanley & McNeil 1982).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from qms.validation.intervals import draws_to_weights

__all__ = ["FloatArray", "IntArray", "SortedScores", "auroc", "delong_se", "hanley_mcneil_se", "jackknife", "rankdata"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
_BLOCK = 16
"""Rows of sorted keys turned into float64 at a time (bounds the temporary at 16 x cases x 8 bytes)."""
_MIXED_SHARE = 8
"""The rank-sum path is used while tie groups holding both classes number under cases / 8."""


class SortedScores:
    """Scores sorted once, tie groups found once, reused by every resample."""

    def __init__(self, scores: FloatArray, y: NDArray[np.int_]) -> None:
        order = np.lexsort((y, scores))  # by score; within a tie, negatives first (see _auroc_sorted_weights)
        s = scores[order]
        self.order = order
        self.positive = y[order].astype(bool)
        first = np.r_[True, s[1:] != s[:-1]]
        starts = np.flatnonzero(first)
        self.group_starts = starts if len(starts) < len(s) else None
        # Each case's sort key: 2 x its tie group (its rank when scores are distinct) + 1 if positive.
        group = np.cumsum(first, dtype=np.int64) - 1
        self.key_of = np.empty(len(order), dtype=np.int32)
        self.key_of[order] = 2 * group + self.positive
        self.mixed_keys = np.zeros(0, dtype=np.int32)  # 2 x each tie group that holds both classes
        if self.group_starts is not None:
            positives = np.add.reduceat(self.positive.astype(np.int64), starts)
            sizes = np.diff(np.r_[starts, len(s)])
            self.mixed_keys = (2 * np.flatnonzero((positives > 0) & (positives < sizes))).astype(np.int32)
        self.positions = np.flatnonzero(self.positive)  # positives' columns in score order
        # the column before each positive's tie group (-1: the group starts the order)
        self.before_group = (starts[group[self.positions]] - 1) if self.group_starts is not None else self.positions - 1

    def auroc(self, weights: NDArray[np.floating] | NDArray[np.integer]) -> FloatArray:
        """AUROC of each row of `weights` (rows: resamples, columns: cases in input order)."""
        if np.asarray(weights).dtype.kind in "iu" and len(self.order):
            return self._auroc_sorted_weights(np.asarray(weights)[:, self.order])
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

    def _auroc_sorted_weights(self, w: NDArray[np.integer]) -> FloatArray:
        """Integer weights in score order: the negatives' weight below each positive from one int32 running sum.

        Within a tie the order puts negatives first, so the running sum C at a positive's
        column counts the negatives below its group and all of its own group; C just before
        the group counts those below. Their sum is 2 x (negatives below + half those tied), so
        no per-group reduction is needed. Several times quicker than the float64 form, exact
        while a row's weights sum below 2**30; the products run over the positive columns only.
        """
        below = np.cumsum(w * ~self.positive, axis=1, dtype=np.int32)
        wp = w[:, self.positions]
        at = below[:, self.positions]
        if self.group_starts is None:  # distinct scores: C before the group is C at the positive
            num = np.einsum("ij,ij->i", wp, at, dtype=np.float64)
        else:
            at += np.where(self.before_group >= 0, below[:, np.maximum(self.before_group, 0)], 0)
            num = np.einsum("ij,ij->i", wp, at, dtype=np.float64) / 2
        den = wp.sum(axis=1, dtype=np.float64) * below[:, -1]
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(den > 0, num / den, np.nan)

    def auroc_of_draws(self, draws: NDArray[np.int32], clusters: NDArray[np.int64] | None = None) -> FloatArray | None:
        """AUROC of each row of case draws by the rank sum of the drawn positives, in one sort per row.

        With `clusters` (each case's cluster; draws are then cluster indices) the drawn
        clusters' counts go straight to score order (one gather, not two), ties included.

        Sorting a row's keys (2 x tie group + positive) puts each drawn negative before the
        drawn positives of its group, so the positives' rank sum less M(M-1)/2 (0-based) counts
        every negative below a positive and every tied (positive, negative) pair once; half of
        the tied pairs, counted per mixed tie group by binary search, are taken off again. The
        same value as `auroc(bincount(row))`. None when so many tie groups hold both classes
        that the weights form is quicker.
        """
        if clusters is not None:
            return self._auroc_sorted_weights(draws_to_weights(draws, clusters[self.order]))
        rows, k = draws.shape
        if len(self.mixed_keys) > k // _MIXED_SHARE:
            return None
        keys = self.key_of[draws]
        keys.sort(axis=1)
        counts = np.empty((rows, 2), dtype=np.float64)  # per row: M, rank sum of the positives
        basis = np.stack([np.ones(k), np.arange(k, dtype=np.float64)], axis=1)
        for start in range(0, rows, _BLOCK):
            counts[start:start + _BLOCK] = (keys[start:start + _BLOCK] & 1).astype(np.float64) @ basis
        m, rank_sum = counts[:, 0], counts[:, 1]
        u = rank_sum - m * (m - 1) / 2
        if len(self.mixed_keys):
            u -= 0.5 * np.array([self._tied_pairs(row) for row in keys])
        n = k - m
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(m * n > 0, u / (m * n), np.nan)

    def _tied_pairs(self, sorted_keys: NDArray[np.int32]) -> float:
        """Drawn (positive, negative) pairs with the same score: per mixed group, negatives x positives."""
        lo, mid, hi = (np.searchsorted(sorted_keys, self.mixed_keys + np.int32(i)) for i in range(3))
        return float((mid - lo) @ (hi - mid))


def auroc(scores: FloatArray, y: NDArray[np.int_]) -> float:
    """The Mann-Whitney AUROC with ties counted one half, from exact integers: twice each midrank is an
    integer, so 2U, M and N are exact and the value is one correctly rounded division (nan without both classes)."""
    positive = np.asarray(y) == 1
    m = int(positive.sum())
    n = len(positive) - m
    if m == 0 or n == 0:
        return float("nan")
    _, inverse, counts = np.unique(scores, return_inverse=True, return_counts=True)
    upper = np.cumsum(counts, dtype=np.int64)
    twice_rank = (2 * upper - counts + 1)[inverse]  # twice the midrank, 1-based
    twice_u = int(twice_rank[positive].sum()) - m * (m + 1)
    return twice_u / (2 * m * n)


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
