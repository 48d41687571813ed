"""Confidence intervals: exact and score intervals for proportions, DeLong, and the bootstrap.

The bootstrap draws whole clusters (patients) with replacement, so several images of one
patient move together (VALIDATION.md: "multiple images per patient -> cluster
bootstrap"). A resample is a row of case weights (how often each case was drawn); a
statistic maps a (resamples x cases) weight matrix to one value per row, so every
interval is computed in a few vectorised passes. Draws come from numpy's PCG64 seeded
by the protocol, in fixed chunks with child seeds, so a locked protocol reproduces its
intervals exactly, whether the chunks run one after another or in parallel.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from enum import Enum
from typing import Protocol, runtime_checkable

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "CIMethod", "DrawStatistic", "FloatArray", "Interval", "SeededDrawStatistic", "Statistic", "bootstrap",
    "cell_bootstrap", "clopper_pearson", "draws_to_weights", "percentile_interval", "resample_draws", "wald", "wilson",
]

FloatArray = NDArray[np.float64]
Statistic = Callable[[NDArray[np.int32]], FloatArray]
"""Maps a (resamples x cases) matrix of case weights to one statistic per row."""

_CELLS_PER_CHUNK = 8_000_000
_COMPILED_DRAWS_MIN = 4_000_000
"""Smaller chunks are drawn by numpy itself (the same values): a few milliseconds, where importing numba costs 0.5 s."""


class CIMethod(str, Enum):
    """How an interval is computed; the protocol names one per endpoint."""

    BOOTSTRAP_PERCENTILE = "bootstrap-percentile"
    BOOTSTRAP_BCA = "bootstrap-bca"
    DELONG = "delong"
    WILSON = "wilson"
    CLOPPER_PEARSON = "clopper-pearson"


@dataclass(frozen=True)
class Interval:
    estimate: float
    lower: float
    upper: float
    level: float
    method: CIMethod

    def to_json(self) -> dict[str, float | str]:
        return {"estimate": self.estimate, "lower": self.lower, "upper": self.upper, "level": self.level,
                "method": self.method.value}


def wilson(k: NDArray[np.int_] | int, n: NDArray[np.int_] | int, level: float) -> tuple[FloatArray, FloatArray]:
    """Wilson score interval (Wilson 1927), vectorised; n = 0 gives (nan, nan)."""
    from scipy.special import ndtri  # scipy loads when an interval is computed, not when a protocol is read

    k_, n_ = np.asarray(k, dtype=np.float64), np.asarray(n, dtype=np.float64)
    z = float(ndtri(0.5 + level / 2))
    with np.errstate(invalid="ignore", divide="ignore"):
        p = k_ / n_
        centre = (p + z * z / (2 * n_)) / (1 + z * z / n_)
        half = z * np.sqrt(p * (1 - p) / n_ + z * z / (4 * n_ * n_)) / (1 + z * z / n_)
    return np.clip(centre - half, 0, 1), np.clip(centre + half, 0, 1)


def clopper_pearson(k: NDArray[np.int_] | int, n: NDArray[np.int_] | int, level: float) -> tuple[FloatArray, FloatArray]:
    """Exact binomial interval (Clopper & Pearson 1934), vectorised; n = 0 gives (nan, nan)."""
    from scipy.special import betaincinv

    k_, n_ = np.asarray(k, dtype=np.float64), np.asarray(n, dtype=np.float64)
    alpha = 1 - level
    with np.errstate(invalid="ignore"):
        lo = np.where(k_ > 0, betaincinv(k_, n_ - k_ + 1, alpha / 2), 0.0)
        hi = np.where(k_ < n_, betaincinv(k_ + 1, n_ - k_, 1 - alpha / 2), 1.0)
    bad = n_ <= 0
    return np.where(bad, np.nan, lo), np.where(bad, np.nan, hi)


DrawStatistic = Callable[[NDArray[np.int32], "NDArray[np.int64] | None"], "FloatArray | None"]
"""A faster path from the raw draws (resamples x clusters), given each case's cluster (None: cases are their own
clusters, draws are case indices); returns None where it does not apply."""


@runtime_checkable
class SeededDrawStatistic(Protocol):
    """A DrawStatistic that can also make a chunk's draws itself from the chunk's seed (the same draws)."""

    def __call__(self, draws: NDArray[np.int32], clusters: NDArray[np.int64] | None, /) -> FloatArray | None: ...

    def of_seed(self, n_clusters: int, seed: np.random.SeedSequence, rows: int,
                clusters: NDArray[np.int64] | None, /) -> FloatArray | None:
        """The statistic of `rows` resamples drawn as `_draw(n_clusters, seed, rows)`; None where it does not apply."""


def _chunks(n_clusters: int, resamples: int, seed: int) -> list[tuple[np.random.SeedSequence, int]]:
    """Fixed-size chunks of resamples, each with its own child seed: the same draws however they are scheduled."""
    chunk = max(1, min(resamples, _CELLS_PER_CHUNK // max(n_clusters, 1)))
    sizes = [min(chunk, resamples - start) for start in range(0, resamples, chunk)]
    return list(zip(np.random.SeedSequence(seed).spawn(len(sizes)), sizes, strict=True))


def _draw(n_clusters: int, seed: np.random.SeedSequence, size: int) -> NDArray[np.int32]:
    """Uniform cluster indices as int32: half the memory traffic of int64 and a faster sort.

    numpy draws a bound below 2**32 by the same 32-bit Lemire method for either dtype, so
    these are the very values int64 draws had (tested): runs recorded before keep their intervals.
    A large chunk's are made by compiled code (`qms.validation.pcg64_draws`): the values of
    `default_rng(seed).integers(0, n_clusters, (size, n_clusters), dtype=np.int32)`, in half the time.
    """
    if size * n_clusters < _COMPILED_DRAWS_MIN:
        return np.random.default_rng(seed).integers(0, n_clusters, size=(size, n_clusters), dtype=np.int32)
    from qms.validation.pcg64_draws import draw

    return draw(n_clusters, seed, size)


def resample_draws(n_clusters: int, resamples: int, seed: int) -> Iterator[NDArray[np.int32]]:
    """Cluster indices drawn with replacement, one row per resample, chunk by chunk."""
    for child, size in _chunks(n_clusters, resamples, seed):
        yield _draw(n_clusters, child, size)


def _independent(clusters: NDArray[np.int64]) -> bool:
    """True when case i is cluster i: draws are then case indices."""
    return bool(np.array_equal(clusters, np.arange(len(clusters))))


def draws_to_weights(draws: NDArray[np.int32], clusters: NDArray[np.int64]) -> NDArray[np.int32]:
    """Each case's weight: how often its cluster was drawn in that row."""
    c, k = draws.shape
    flat = (draws + (np.arange(c, dtype=np.int64) * k)[:, None]).ravel()
    counts = np.bincount(flat, minlength=c * k).astype(np.int32).reshape(c, k)
    return counts if _independent(clusters) else counts[:, clusters]


def _jackknife(statistic: Statistic, clusters: NDArray[np.int64]) -> FloatArray:
    """Leave-one-cluster-out values of the statistic, in chunks (cost: clusters x cases)."""
    n_clusters = int(clusters.max()) + 1
    chunk = max(1, _CELLS_PER_CHUNK // max(len(clusters), 1))
    out = []
    for start in range(0, n_clusters, chunk):
        ks = np.arange(start, min(start + chunk, n_clusters))
        w = (clusters[None, :] != ks[:, None]).astype(np.int32)
        out.append(statistic(w))
    return np.concatenate(out)


def _values(statistic: Statistic, on_draws: DrawStatistic | None, draws: NDArray[np.int32],
            clusters: NDArray[np.int64]) -> FloatArray:
    fast = on_draws(draws, None if _independent(clusters) else clusters) if on_draws is not None else None
    return fast if fast is not None else statistic(draws_to_weights(draws, clusters))


def bootstrap(
    statistic: Statistic, estimate: float, clusters: NDArray[np.int64], *, resamples: int, seed: int, level: float,
    method: CIMethod, on_draws: DrawStatistic | None = None, jackknife_values: FloatArray | None = None,
) -> Interval:
    """Percentile or BCa (Efron 1987) interval of `statistic` over cluster resamples.

    `jackknife_values`, for independent cases, are the leave-one-out values in closed form;
    otherwise BCa's jackknife recomputes the statistic once per cluster.
    """
    n_clusters = int(clusters.max()) + 1
    independent = _independent(clusters)

    def chunk_values(job: tuple[np.random.SeedSequence, int]) -> FloatArray:
        if isinstance(on_draws, SeededDrawStatistic):  # draws made and counted at once, never stored
            values = on_draws.of_seed(n_clusters, *job, None if independent else clusters)
            if values is not None:
                return values
        return _values(statistic, on_draws, _draw(n_clusters, *job), clusters)

    jobs = _chunks(n_clusters, resamples, seed)
    # numpy's generators and sorts release the GIL, so chunks run in parallel on threads.
    with ThreadPoolExecutor(max_workers=min(len(jobs), os.cpu_count() or 1)) as pool:
        values = np.concatenate(list(pool.map(chunk_values, jobs)))

    def jackknife() -> tuple[FloatArray, FloatArray]:
        jack = jackknife_values if independent and jackknife_values is not None else _jackknife(statistic, clusters)
        return jack, np.ones_like(jack)

    return _interval(values, estimate, resamples, level, method, jackknife)


def cell_bootstrap(
    statistic: Callable[[NDArray[np.int64]], FloatArray], counts: NDArray[np.int64], estimate: float, *,
    resamples: int, seed: int, level: float, method: CIMethod,
) -> Interval:
    """The bootstrap of a statistic of cell counts only (a confusion matrix), for independent cases.

    Drawing n cases with replacement gives cell counts Multinomial(n, counts / n), so
    drawing the counts directly is the same bootstrap at a cost independent of n; the
    jackknife has one value per cell, weighted by the cell's count.
    """
    n = int(counts.sum())
    rng = np.random.default_rng(seed)
    values = statistic(rng.multinomial(n, counts / n, size=resamples))

    def jackknife() -> tuple[FloatArray, FloatArray]:
        keep = counts > 0
        drop_one = counts[None, :] - np.eye(len(counts), dtype=np.int64)
        return statistic(drop_one[keep]), counts[keep].astype(np.float64)

    return _interval(values, estimate, resamples, level, method, jackknife)


def _interval(
    values: FloatArray, estimate: float, resamples: int, level: float, method: CIMethod,
    jackknife: Callable[[], tuple[FloatArray, FloatArray]],
) -> Interval:
    """Percentile or BCa bounds from bootstrap values.

    Resamples where the statistic is undefined (e.g. no positives drawn) are dropped; if
    more than half are, the interval is (nan, nan) rather than a misleading number.
    """
    values = values[np.isfinite(values)]
    alpha = 1 - level
    if len(values) < resamples / 2 or not np.isfinite(estimate):
        return Interval(estimate, float("nan"), float("nan"), level, method)
    if method is CIMethod.BOOTSTRAP_PERCENTILE:
        lo, hi = np.quantile(values, [alpha / 2, 1 - alpha / 2])
        return Interval(estimate, float(lo), float(hi), level, method)
    if method is not CIMethod.BOOTSTRAP_BCA:
        raise ValueError(f"not a bootstrap method: {method.value}")
    from scipy.special import ndtr, ndtri

    share = (np.sum(values < estimate) + 0.5 * np.sum(values == estimate)) / len(values)
    z0 = float(ndtri(np.clip(share, 1 / (2 * len(values)), 1 - 1 / (2 * len(values)))))
    jack, weight = jackknife()
    ok = np.isfinite(jack)
    jack, weight = jack[ok], weight[ok]
    d = np.average(jack, weights=weight) - jack if len(jack) else jack
    denom = 6 * float(np.sum(weight * d * d)) ** 1.5
    a = float(np.sum(weight * d**3)) / denom if denom > 0 else 0.0
    z = ndtri(np.array([alpha / 2, 1 - alpha / 2]))
    adjusted = ndtr(z0 + (z0 + z) / (1 - a * (z0 + z)))
    lo, hi = np.quantile(values, adjusted)
    return Interval(estimate, float(lo), float(hi), level, method)


def percentile_interval(values: FloatArray, estimate: float, resamples: int, level: float) -> tuple[float, float]:
    """(lower, upper) percentile bounds of any bootstrapped quantity, undefined resamples dropped as in `bootstrap`."""
    iv = _interval(values, estimate, resamples, level, CIMethod.BOOTSTRAP_PERCENTILE,
                   lambda: (np.empty(0), np.empty(0)))
    return iv.lower, iv.upper


def wald(estimate: float, se: float, level: float, method: CIMethod) -> Interval:
    """estimate +- z*se, kept inside [0, 1] (DeLong's interval for AUROC)."""
    from scipy.special import ndtri

    z = float(ndtri(0.5 + level / 2))
    return Interval(estimate, max(0.0, estimate - z * se), min(1.0, estimate + z * se), level, method)
